// The CPU backend's f32 matrix product. Every CPU kernel that multiplies matrices (matmul, conv2d, the attention
// backward, the 4-bit GEMM) calls this, never cblas_sgemm directly, so the choice of implementation is made once.
#pragma once

#include <cstdint>

namespace glint::cpu {

// c = alpha * op(a) @ op(b) + beta * c on row-major storage, with the contract of
// cblas_sgemm(CblasRowMajor, ...): op(a) is (m, k), stored as a with row stride lda, or when trans_a its
// transpose, stored (k, m); likewise op(b) is (k, n); c is (m, n) with row stride ldc. beta == 0 never reads c
// (NaN there does not propagate). Runs on every OpenMP thread unless called inside a parallel region or the product
// is small (sgemm_single_threaded); the result does not depend on the thread count.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// sgemm with b in 16-bit floats (f16 bits, or bf16 bits when b_bf16), widened exactly to f32 as b is packed, so
// that no f32 copy of b is ever made; a and c are f32. Needs sgemm_uses_avx512(): without it, callers convert b
// themselves and call sgemm.
void sgemm_b16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const uint16_t* b, int64_t ldb, bool b_bf16, float beta, float* c, int64_t ldc);

// Whether sgemm runs a product of this size on the calling thread alone, so that callers with many small products
// (a batch, blocks of rows) know to spread those across threads themselves.
bool sgemm_single_threaded(int64_t m, int64_t n, int64_t k);

// Whether sgemm uses glint's own AVX-512 kernel on this CPU (else OpenBLAS), for benchmarks and tests to report.
bool sgemm_uses_avx512();

}  // namespace glint::cpu
