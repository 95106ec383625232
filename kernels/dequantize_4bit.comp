// variant: dequantize_4bit_f32 OUT=f32
// variant: dequantize_4bit_f16 OUT=f16
// variant: dequantize_4bit_bf16 OUT=bf16
#version 460
// y[i] = code[nibble i] * absmax[i / blocksize] for i < K (the flat element count), rounded once to OUT: the same
// arithmetic as bitsandbytes' dequantize_4bit, so the result is bit-identical.
#include "dtype.glsl"
#include "index.glsl"
#include "quant4.glsl"
layout(local_size_x = 256) in;

void main() {
  load_code();
  const uint i = linear_id();
  if (i >= pc.K) return;
  CAT3(store_, OUT, _f)(pc.y, i, weight_at(i));
}
