// Block decoders for the ggml formats. Layouts (bytes per block, in order):
//   Q4_0  d:f16 qs[16]                      x = (q - 8) * d
//   Q4_1  d:f16 m:f16 qs[16]                x = q * d + m
//   Q5_0  d:f16 qh[4] qs[16]                x = (q5 - 16) * d
//   Q5_1  d:f16 m:f16 qh[4] qs[16]          x = q5 * d + m
//   Q8_0  d:f16 qs[32] (int8)               x = q * d
//   Q4_K  d dmin:f16 scales[12] qs[128]     8 sub-blocks of 32, 6-bit scale and min each: x = d*sc*q - dmin*m
//   Q5_K  d dmin:f16 scales[12] qh[32] qs[128]   as Q4_K with a fifth bit from qh
//   Q6_K  ql[128] qh[64] scales[16] (int8) d:f16 16 sub-blocks of 16: x = d*sc*(q6 - 32)
// In the 32-element formats byte j holds element j (low nibble) and element j + 16 (high nibble).
// The arithmetic follows ggml-quants.c operation by operation (products formed in the same order, no fused
// multiply-add: the build does not contract), so results match ggml and gguf-py bit for bit.
#include "runtime/io/gguf_dequant.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/core/error.h"

namespace glint::io {

namespace {

using Decoder = void (*)(const uint8_t* x, float* y, int64_t nblocks);

float half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

void decode_f32(const uint8_t* x, float* y, int64_t n) { std::memcpy(y, x, size_t(n) * 4); }
void decode_f16(const uint8_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = half(x + 2 * i);
}
void decode_bf16(const uint8_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, x + 2 * i, 2);
    y[i] = bf16_to_f32(h);
  }
}

void decode_q4_0(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += 18, y += 32) {
    const float d = half(x);
    const uint8_t* qs = x + 2;
    for (int j = 0; j < 16; ++j) {
      y[j] = float((qs[j] & 0x0F) - 8) * d;
      y[j + 16] = float((qs[j] >> 4) - 8) * d;
    }
  }
}

void decode_q4_1(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += 20, y += 32) {
    const float d = half(x), m = half(x + 2);
    const uint8_t* qs = x + 4;
    for (int j = 0; j < 16; ++j) {
      y[j] = float(qs[j] & 0x0F) * d + m;
      y[j + 16] = float(qs[j] >> 4) * d + m;
    }
  }
}

// The fifth bits of a Q5 block: bit j of qh belongs to element j.
uint32_t high_bits(const uint8_t* p) {
  uint32_t qh;
  std::memcpy(&qh, p, 4);
  return qh;
}

void decode_q5_0(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += 22, y += 32) {
    const float d = half(x);
    const uint32_t qh = high_bits(x + 2);
    const uint8_t* qs = x + 6;
    for (int j = 0; j < 16; ++j) {
      int lo = (qs[j] & 0x0F) | int((qh >> j) & 1) << 4;
      int hi = (qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
      y[j] = float(lo - 16) * d;
      y[j + 16] = float(hi - 16) * d;
    }
  }
}

void decode_q5_1(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += 24, y += 32) {
    const float d = half(x), m = half(x + 2);
    const uint32_t qh = high_bits(x + 4);
    const uint8_t* qs = x + 8;
    for (int j = 0; j < 16; ++j) {
      int lo = (qs[j] & 0x0F) | int((qh >> j) & 1) << 4;
      int hi = (qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
      y[j] = float(lo) * d + m;
      y[j + 16] = float(hi) * d + m;
    }
  }
}

void decode_q8_0(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += 34, y += 32) {
    const float d = half(x);
    for (int j = 0; j < 32; ++j) y[j] = float(int8_t(x[2 + j])) * d;
  }
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block: the first four sit in the low six bits of
// bytes 0-3 (scales) and 4-7 (mins); the last four take their low four bits from bytes 8-11 and their top two bits
// from the spare high bits of bytes 0-7.
void k_scale_min(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q4_K and Q5_K share everything but the fifth bit (qh == nullptr for Q4_K).
void decode_k4_k5(const uint8_t* x, float* y, const uint8_t* qh, const uint8_t* qs) {
  const float d = half(x), dmin = half(x + 2);
  const uint8_t* scales = x + 4;
  for (int g = 0; g < 4; ++g, qs += 32, y += 64) {
    int sc, m;
    k_scale_min(2 * g, scales, &sc, &m);
    const float d1 = d * float(sc), m1 = dmin * float(m);
    k_scale_min(2 * g + 1, scales, &sc, &m);
    const float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l) {
      int lo = qs[l] & 0x0F, hi = qs[l] >> 4;
      if (qh) {
        lo += (qh[l] >> (2 * g)) & 1 ? 16 : 0;
        hi += (qh[l] >> (2 * g + 1)) & 1 ? 16 : 0;
      }
      y[l] = d1 * float(lo) - m1;
      y[l + 32] = d2 * float(hi) - m2;
    }
  }
}

void decode_q4_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += 144, y += 256) decode_k4_k5(x, y, nullptr, x + 16);
}

void decode_q5_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += 176, y += 256) decode_k4_k5(x, y, x + 16, x + 48);
}

// Q6_K: each 128-element half uses 64 bytes of ql (low nibbles: elements 0-31 and 32-63 in the low halves, 64-127
// in the high halves), 32 bytes of qh (two bits per element, four elements per byte) and 8 scales.
void decode_q6_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += 210, y += 256) {
    const float d = half(x + 208);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x + 64 * h;
      const uint8_t* qh = x + 128 + 32 * h;
      const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192) + 8 * h;
      float* yh = y + 128 * h;
      for (int l = 0; l < 32; ++l) {
        int is = l / 16;
        int q1 = ((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32;
        int q2 = ((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32;
        int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
        int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        yh[l] = d * float(sc[is]) * float(q1);
        yh[l + 32] = d * float(sc[is + 2]) * float(q2);
        yh[l + 64] = d * float(sc[is + 4]) * float(q3);
        yh[l + 96] = d * float(sc[is + 6]) * float(q4);
      }
    }
  }
}

Decoder decoder_for(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
      return decode_f32;
    case GgmlType::F16:
      return decode_f16;
    case GgmlType::BF16:
      return decode_bf16;
    case GgmlType::Q4_0:
      return decode_q4_0;
    case GgmlType::Q4_1:
      return decode_q4_1;
    case GgmlType::Q5_0:
      return decode_q5_0;
    case GgmlType::Q5_1:
      return decode_q5_1;
    case GgmlType::Q8_0:
      return decode_q8_0;
    case GgmlType::Q4_K:
      return decode_q4_k;
    case GgmlType::Q5_K:
      return decode_q5_k;
    case GgmlType::Q6_K:
      return decode_q6_k;
    default:
      return nullptr;
  }
}

}  // namespace

bool ggml_can_dequantize(GgmlType type) { return decoder_for(type) != nullptr; }

void dequantize(GgmlType type, std::span<const std::byte> src, int64_t n, DType out, void* dst) {
  Decoder decode = decoder_for(type);
  const GgmlTypeInfo* info = ggml_type_info(uint32_t(type));
  if (!decode || !info) fail("gguf", "cannot dequantise ggml type ", ggml_type_name(type));
  if (!is_floating(out)) fail("gguf", "dequantise to ", dtype_name(out), ": only f32, f16 and bf16 are supported");
  const int64_t bs = info->block_size, nblocks = n / bs;
  if (n < 0 || n % bs != 0 || src.size() != size_t(nblocks) * info->type_size)
    fail("gguf", "dequantise ", ggml_type_name(type), ": ", n, " elements need ", n / bs * int64_t(info->type_size),
         " bytes, got ", src.size());
  // Chunks of about 4096 elements: enough work per task to amortise the scheduling, small enough to share out.
  const int64_t per_chunk = std::max<int64_t>(1, 4096 / bs), nchunks = (nblocks + per_chunk - 1) / per_chunk;
  const auto* x = reinterpret_cast<const uint8_t*>(src.data());
#pragma omp parallel if (nchunks > 1)
  {
    std::vector<float> tmp(out == DType::f32 ? 0 : size_t(per_chunk * bs));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < nchunks; ++c) {
      const int64_t b0 = c * per_chunk, nb = std::min(per_chunk, nblocks - b0), e0 = b0 * bs, ne = nb * bs;
      float* y = out == DType::f32 ? static_cast<float*>(dst) + e0 : tmp.data();
      decode(x + b0 * int64_t(info->type_size), y, nb);
      if (out == DType::f16) {
        auto* h = static_cast<uint16_t*>(dst) + e0;
        for (int64_t i = 0; i < ne; ++i) h[i] = f32_to_f16(y[i]);
      } else if (out == DType::bf16) {
        auto* h = static_cast<uint16_t*>(dst) + e0;
        for (int64_t i = 0; i < ne; ++i) h[i] = f32_to_bf16(y[i]);
      }
    }
  }
}

}  // namespace glint::io
