// GPT-2's byte-level alphabet: every byte maps to a printable code point (bytes_to_unicode in the GPT-2 code), so
// byte-level BPE vocabularies are strings.
#pragma once
#include <array>
#include <string>

namespace glint::tok {

// UTF-8 of the code point standing for each byte.
const std::array<std::string, 256>& byte_to_unicode_utf8();
// The byte a code point stands for, or -1 when it is not in the alphabet.
int unicode_to_byte(char32_t c);

}  // namespace glint::tok
