#include "runtime/io/safetensors_dtype.h"

#include <cstring>

namespace glint::io {

namespace {
struct StDTypeInfo {
  StDType type;
  std::string_view name;
  size_t size;
  DType read_as;
  bool native;
};
constexpr StDTypeInfo kInfo[] = {
    {StDType::F64, "F64", 8, DType::f32, false},
    {StDType::F32, "F32", 4, DType::f32, true},
    {StDType::F16, "F16", 2, DType::f16, true},
    {StDType::BF16, "BF16", 2, DType::bf16, true},
    {StDType::I64, "I64", 8, DType::i64, true},
    {StDType::I32, "I32", 4, DType::i32, true},
    {StDType::I16, "I16", 2, DType::i32, false},
    {StDType::I8, "I8", 1, DType::i8, true},
    {StDType::U8, "U8", 1, DType::u8, true},
    {StDType::BOOL, "BOOL", 1, DType::u8, false},
    {StDType::F8_E4M3, "F8_E4M3", 1, DType::f32, false},
    {StDType::F8_E5M2, "F8_E5M2", 1, DType::f32, false},
};
const StDTypeInfo& info(StDType t) { return kInfo[size_t(t)]; }

template <class In, class Out, class F>
void convert(const std::byte* in, size_t n, std::byte* out, F f) {
  for (size_t i = 0; i < n; ++i) {
    In x;
    std::memcpy(&x, in + i * sizeof(In), sizeof(In));  // the mapping gives no alignment guarantee
    Out y = f(x);
    std::memcpy(out + i * sizeof(Out), &y, sizeof(Out));
  }
}
}  // namespace

std::string_view st_dtype_name(StDType t) { return info(t).name; }
size_t st_dtype_size(StDType t) { return info(t).size; }
DType st_read_dtype(StDType t) { return info(t).read_as; }
bool st_is_native(StDType t) { return info(t).native; }

std::optional<StDType> parse_st_dtype(std::string_view name) {
  for (const auto& i : kInfo)
    if (i.name == name) return i.type;
  return std::nullopt;
}

StDType st_dtype_of(DType t) {
  switch (t) {
    case DType::f32:
      return StDType::F32;
    case DType::f16:
      return StDType::F16;
    case DType::bf16:
      return StDType::BF16;
    case DType::i32:
      return StDType::I32;
    case DType::i64:
      return StDType::I64;
    case DType::u8:
      return StDType::U8;
    case DType::i8:
      return StDType::I8;
  }
  return StDType::F32;
}

void st_decode(StDType t, const std::byte* in, size_t n, std::byte* out) {
  switch (t) {
    case StDType::F64:
      return convert<double, float>(in, n, out, [](double x) { return float(x); });
    case StDType::I16:
      return convert<int16_t, int32_t>(in, n, out, [](int16_t x) { return int32_t(x); });
    case StDType::BOOL:
      return convert<uint8_t, uint8_t>(in, n, out, [](uint8_t x) { return uint8_t(x != 0); });
    case StDType::F8_E4M3:
      return convert<uint8_t, float>(in, n, out, f8_e4m3_to_f32);
    case StDType::F8_E5M2:
      return convert<uint8_t, float>(in, n, out, f8_e5m2_to_f32);
    default:
      std::memcpy(out, in, n * st_dtype_size(t));
  }
}

}  // namespace glint::io
