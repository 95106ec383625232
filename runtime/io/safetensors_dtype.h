// The element types a safetensors file may hold, and how each becomes a glint tensor. Seven map onto glint dtypes
// byte for byte (zero-copy); the others (F64, I16, BOOL, F8_E4M3, F8_E5M2) are converted when read.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "runtime/core/dtype.h"

namespace glint::io {

enum class StDType : uint8_t { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };
inline constexpr StDType kAllStDTypes[] = {StDType::F64, StDType::F32,  StDType::F16,     StDType::BF16,
                                           StDType::I64, StDType::I32,  StDType::I16,     StDType::I8,
                                           StDType::U8,  StDType::BOOL, StDType::F8_E4M3, StDType::F8_E5M2};

std::string_view st_dtype_name(StDType t);  // "F32", "F8_E4M3", ... as written in the header
std::optional<StDType> parse_st_dtype(std::string_view name);
size_t st_dtype_size(StDType t);
// The glint dtype a tensor of this type gets when read without a requested dtype: itself where glint has it,
// else f32 (F64, F8_*), i32 (I16) or u8 (BOOL, as 0/1).
DType st_read_dtype(StDType t);
// True where the stored bytes are already a glint tensor of st_read_dtype(t).
bool st_is_native(StDType t);
// The safetensors type of a glint dtype (every glint dtype has one).
StDType st_dtype_of(DType t);

// Decodes `n` stored elements of type `t` into `out` (n * dtype_size(st_read_dtype(t)) bytes). Unaligned input is fine.
void st_decode(StDType t, const std::byte* in, size_t n, std::byte* out);

// FP8 as in the OCP spec. E4M3FN: bias 7, no infinities, 0x7f/0xff are NaN. E5M2: the top byte of an IEEE f16.
inline float f8_e4m3_to_f32(uint8_t b) {
  uint32_t sign = uint32_t(b & 0x80u) << 24, exp = (b >> 3) & 0xfu, man = b & 0x7u;
  if (exp == 0xf && man == 0x7) return std::bit_cast<float>(sign | 0x7fc00000u);
  if (exp == 0) return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(float(man) * 0x1p-9f));
  return std::bit_cast<float>(sign | (exp + 120u) << 23 | man << 20);
}
inline float f8_e5m2_to_f32(uint8_t b) { return f16_to_f32(uint16_t(b) << 8); }

}  // namespace glint::io
