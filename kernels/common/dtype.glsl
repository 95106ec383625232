// Typed access to tensors through buffer device addresses (no descriptor sets, no 4 GiB range limit).
// load_<dt>_f / store_<dt>_f go through float; load_<dt>_i / store_<dt>_i through int64 (exact for integers).
// f16 and bf16 are stored as uint16_t so that only 16-bit *storage* is required, not f16 arithmetic.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference2 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require

layout(buffer_reference, std430, buffer_reference_align = 4) buffer BufF32 { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer BufVec4 { vec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 2) buffer BufU16 { uint16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer BufI32 { int v[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) buffer BufI64 { int64_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 1) buffer BufU8 { uint8_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 1) buffer BufI8 { int8_t v[]; };

#define CAT2_(a, b) a##b
#define CAT2(a, b) CAT2_(a, b)
#define CAT3(a, b, c) CAT2(CAT2(a, b), c)

float f16_bits_to_float(uint16_t h) { return unpackHalf2x16(uint(h)).x; }
uint16_t float_to_f16_bits(float x) { return uint16_t(packHalf2x16(vec2(x, 0.0)) & 0xffffu); }
float bf16_bits_to_float(uint16_t h) { return uintBitsToFloat(uint(h) << 16); }
uint16_t float_to_bf16_bits(float x) {  // round to nearest even, NaN stays NaN
  uint u = floatBitsToUint(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float load_f32_f(uint64_t a, uint i) { return BufF32(a).v[i]; }
float load_f16_f(uint64_t a, uint i) { return f16_bits_to_float(BufU16(a).v[i]); }
float load_bf16_f(uint64_t a, uint i) { return bf16_bits_to_float(BufU16(a).v[i]); }
float load_i32_f(uint64_t a, uint i) { return float(BufI32(a).v[i]); }
float load_i64_f(uint64_t a, uint i) { return float(BufI64(a).v[i]); }
float load_u8_f(uint64_t a, uint i) { return float(uint(BufU8(a).v[i])); }
float load_i8_f(uint64_t a, uint i) { return float(int(BufI8(a).v[i])); }

void store_f32_f(uint64_t a, uint i, float x) { BufF32(a).v[i] = x; }
void store_f16_f(uint64_t a, uint i, float x) { BufU16(a).v[i] = float_to_f16_bits(x); }
void store_bf16_f(uint64_t a, uint i, float x) { BufU16(a).v[i] = float_to_bf16_bits(x); }
void store_i32_f(uint64_t a, uint i, float x) { BufI32(a).v[i] = int(x); }
void store_i64_f(uint64_t a, uint i, float x) { BufI64(a).v[i] = int64_t(x); }
void store_u8_f(uint64_t a, uint i, float x) { BufU8(a).v[i] = uint8_t(int(x)); }
void store_i8_f(uint64_t a, uint i, float x) { BufI8(a).v[i] = int8_t(int(x)); }

int64_t load_f32_i(uint64_t a, uint i) { return int64_t(BufF32(a).v[i]); }
int64_t load_f16_i(uint64_t a, uint i) { return int64_t(load_f16_f(a, i)); }
int64_t load_bf16_i(uint64_t a, uint i) { return int64_t(load_bf16_f(a, i)); }
int64_t load_i32_i(uint64_t a, uint i) { return int64_t(BufI32(a).v[i]); }
int64_t load_i64_i(uint64_t a, uint i) { return BufI64(a).v[i]; }
int64_t load_u8_i(uint64_t a, uint i) { return int64_t(uint(BufU8(a).v[i])); }
int64_t load_i8_i(uint64_t a, uint i) { return int64_t(int(BufI8(a).v[i])); }

void store_i32_i(uint64_t a, uint i, int64_t x) { BufI32(a).v[i] = int(x); }
void store_i64_i(uint64_t a, uint i, int64_t x) { BufI64(a).v[i] = x; }
void store_u8_i(uint64_t a, uint i, int64_t x) { BufU8(a).v[i] = uint8_t(x); }
void store_i8_i(uint64_t a, uint i, int64_t x) { BufI8(a).v[i] = int8_t(x); }
