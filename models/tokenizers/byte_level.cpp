#include "models/tokenizers/byte_level.h"

#include "models/tokenizers/unicode.h"

namespace glint::tok {

namespace {

struct Tables {
  std::array<std::string, 256> to_utf8;
  std::array<int, 324> from_cp;  // the alphabet's code points are all below 256 + 68
  Tables() {
    from_cp.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char32_t cp = printable ? char32_t(b) : char32_t(256 + n++);
      append_utf8(to_utf8[b], cp);
      from_cp[cp] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode_utf8() { return tables().to_utf8; }

int unicode_to_byte(char32_t c) { return c < 324 ? tables().from_cp[c] : -1; }

}  // namespace glint::tok
