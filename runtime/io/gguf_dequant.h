// Dequantisation of ggml block formats to f32 / f16 / bf16, value for value as ggml's dequantize_row_* computes
// them (same operations in the same order, so f32 results are bit-identical).
#pragma once
#include <cstdint>
#include <span>

#include "runtime/core/dtype.h"
#include "runtime/io/gguf.h"

namespace glint::io {

// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K.
bool ggml_can_dequantize(GgmlType type);

// Decodes `n` elements of `type` (n a multiple of the block size; `src` holds exactly their blocks) into `dst`,
// which has room for n elements of `out` (f32, f16 or bf16). Runs in parallel over blocks.
void dequantize(GgmlType type, std::span<const std::byte> src, int64_t n, DType out, void* dst);

}  // namespace glint::io
