// The random numbers behind shuffle and train_test_split: SplitMix64 and a Fisher–Yates permutation written out
// here rather than std::shuffle / std::uniform_int_distribution, whose outputs differ between standard libraries.
// A seed therefore gives the same data order on every platform and compiler, which resumable training relies on.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace glint::datasets {

// SplitMix64 (Steele, Lea & Flood 2014): a 64-bit state advanced by a Weyl step and mixed.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  // The next 64 random bits.
  uint64_t next();
  // A uniform integer in [0, bound) by rejection (no modulo bias); bound must be > 0.
  uint64_t below(uint64_t bound);

 private:
  uint64_t state_;
};

// Fisher–Yates over `n` indices: for i = n-1 down to 1, swap i with below(i + 1).
std::vector<size_t> permutation(size_t n, uint64_t seed);
// Shuffles `v` in place with the same walk as permutation().
template <class T>
void shuffle_in_place(std::vector<T>& v, SplitMix64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace glint::datasets
