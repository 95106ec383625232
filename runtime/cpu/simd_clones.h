// GLINT_SIMD_CLONES: marks a hot CPU loop to be compiled three times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 +
// FMA) and the portable baseline the library is built for (no -march flag), the loader picking the clone this CPU
// runs. Contraction of a * b + c into an FMA is switched off in the clones, so every clone computes exactly the
// baseline's bits (elementwise IEEE arithmetic does not depend on the vector width, and GCC keeps the order of
// floating-point reductions without -ffast-math): only the speed differs between machines. Loops that want an FMA
// write std::fma, as the optimizer kernels do.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GLINT_SIMD_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("fp-contract=off")))
#else
#define GLINT_SIMD_CLONES
#endif
