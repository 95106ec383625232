// Regular expressions for tokenizer.json patterns: PCRE2 (UTF + UCP, JIT-compiled), with the few Oniguruma class
// meanings that HF `tokenizers` relies on (its default engine) translated into PCRE2 syntax.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace glint::tok {

struct Match {
  size_t start, end;
};

class Regex {
 public:
  // Compiles `pattern` (Oniguruma flavour); `literal` matches the string itself. Throws "[tokenizer] <where>: ..."
  // naming the pattern and PCRE2's reason when it does not compile.
  Regex(std::string_view pattern, bool literal, std::string_view where);

  // Every non-overlapping match, left to right, like Oniguruma's find_iter (an empty match advances one character).
  std::vector<Match> find_all(std::string_view s) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::shared_ptr<Code> code_;
  std::string pattern_;
};

// Oniguruma -> PCRE2: \w and \W become their Unicode "word" classes (PCRE2 10.42's \w lacks marks and connector
// punctuation); \h is a hex digit in Oniguruma. Exposed for tests.
std::string translate_onig_pattern(std::string_view pattern);

}  // namespace glint::tok
