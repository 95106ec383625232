// Python str semantics on UTF-8 strings: templates index, slice and case-map by code point, and strip the
// whitespace Python's str.isspace() knows, so renderings match jinja2 byte for byte.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace glint::jinja::text {

// Decodes UTF-8 to code points; an invalid byte decodes to U+FFFD so untrusted input never stops rendering.
std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);
void append_utf8(std::string& out, char32_t cp);
size_t length(std::string_view s);  // in code points, like Python len()

bool is_space(char32_t cp);  // Python str.isspace()
char32_t to_upper(char32_t cp);
char32_t to_lower(char32_t cp);
bool is_cased_letter(char32_t cp);

// str.strip / lstrip / rstrip: chars == nullptr strips Python whitespace, otherwise any code point in *chars.
std::string strip(std::string_view s, const std::string* chars, bool left, bool right);
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);    // str.capitalize(): first upper, rest lower
std::string title_method(std::string_view s);  // str.title(): a letter after a non-letter starts a word
std::string title_filter(std::string_view s);  // jinja2 |title: words start after whitespace, - ( { [ <

// str.split(sep, maxsplit) and str.split() (sep == nullptr: runs of whitespace, empty parts dropped).
std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::string* sep, int64_t maxsplit);
std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count);

// Python repr() of a str: single quotes unless the text holds ' and no ".
std::string repr(std::string_view s);
// json.dumps(s, ensure_ascii=False)
void append_json_string(std::string& out, std::string_view s);

}  // namespace glint::jinja::text
