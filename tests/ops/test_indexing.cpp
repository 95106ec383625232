// Indexing ops on every device against naive loops over coordinates (double precision where anything is summed).
// Data movement (embedding, concat, index_select, gather, topk values) must be bit-exact: kExact.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "runtime/ops/indexing.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

const Tol kExact{0, 0};
const DType kFloatTypes[] = {DType::f32, DType::f16, DType::bf16};
const DType kIndexTypes[] = {DType::i32, DType::i64};

// CPU tensors for the error cases (the default device may be a GPU).
Tensor z(const Shape& s, DType dt = DType::f32) { return zeros(s, dt, Device::cpu()); }

std::vector<int64_t> ints(const Tensor& t) { return t.to(Device::cpu()).to(DType::i64).to_vector<int64_t>(); }

Shape unravel(int64_t i, const Shape& shape) {
  Shape c(shape.size());
  for (int d = int(shape.size()) - 1; d >= 0; --d) {
    c[d] = i % shape[d];
    i /= shape[d];
  }
  return c;
}
int64_t ravel(const Shape& c, const Shape& shape) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + c[d];
  return i;
}

// out[p] = x[p with p[dim] = idx[p]] over idx's shape: the reference of gather (index_select broadcasts first).
std::vector<float> naive_gather(const Tensor& x, int dim, const Tensor& idx) {
  const std::vector<float> xv = x.to_f32();
  const std::vector<int64_t> iv = ints(idx);
  std::vector<float> out(iv.size());
  for (size_t i = 0; i < iv.size(); ++i) {
    Shape c = unravel(int64_t(i), idx.shape());
    c[dim] = iv[i];
    out[i] = xv[ravel(c, x.shape())];
  }
  return out;
}

// ---- embedding -----------------------------------------------------------------------------------------------------

std::vector<float> naive_embedding(const Tensor& w, const std::vector<int64_t>& ids) {
  const std::vector<float> wv = w.to_f32();
  const int64_t d = w.shape()[1];
  std::vector<float> out;
  for (int64_t id : ids)
    for (int64_t c = 0; c < d; ++c) out.push_back(wv[size_t(id * d + c)]);
  return out;
}

TEST(Indexing, EmbeddingMatchesNaiveLoop) {
  for (Device dev : test_devices()) {
    for (DType dt : kFloatTypes) {
      for (DType it : kIndexTypes) {
        SCOPED_TRACE(dev.str() + " " + std::string(dtype_name(dt)) + " ids " + std::string(dtype_name(it)));
        Tensor w = rand_strided({11, 5}, dt, dev, 3);  // rows 8 elements apart, columns strided
        std::vector<Tensor> all_ids = {
            randint({7}, 0, 11, it, dev, 4), randint({2, 3}, 0, 11, it, dev, 5),
            randint({}, 0, 11, it, dev, 6),  randint({4, 3}, 0, 11, it, dev, 7).transpose(0, 1),
            randint({0}, 0, 11, it, dev),    randint({3, 0}, 0, 11, it, dev)};
        for (const Tensor& ids : all_ids) {
          const std::vector<float> want = naive_embedding(w, ints(ids));
          Tensor got = embedding(w, ids);
          Shape shape = ids.shape();
          shape.push_back(5);
          ASSERT_EQ(got.shape(), shape);
          EXPECT_EQ(got.dtype(), dt);
          EXPECT_EQ(got.device(), dev);
          EXPECT_CLOSE(got, want, kExact);
        }
      }
    }
  }
}

TEST(Indexing, EmbeddingIdsFromTheCpuAreCheckedAndUploaded) {
  Tensor ids = Tensor::from_vector(std::vector<int32_t>{2, 0, 2}, {3}, DType::i32, Device::cpu());
  Tensor bad = Tensor::from_vector(std::vector<int64_t>{1, 3}, {2}, DType::i64, Device::cpu());
  for (Device dev : test_devices()) {
    Tensor w = rand({3, 4}, DType::bf16, dev, 8);
    EXPECT_CLOSE(embedding(w, ids), naive_embedding(w, {2, 0, 2}), kExact);
    EXPECT_GLINT_ERROR(embedding(w, bad), "[embedding] id 3 out of range for 3 rows");
  }
}

TEST(Indexing, EmbeddingErrors) {
  Tensor w = z({50257, 2});
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{5, 70000, 1}, {3}, DType::i64, Device::cpu());
  EXPECT_GLINT_ERROR(embedding(w, ids), "[embedding] id 70000 out of range for 50257 rows");
  EXPECT_GLINT_ERROR(embedding(w, Tensor::from_vector(std::vector<int32_t>{-1}, {1}, DType::i32, Device::cpu())),
                     "[embedding] id -1 out of range for 50257 rows");
  EXPECT_GLINT_ERROR(embedding(w, zeros({2}, DType::f32, Device::cpu())),
                     "[embedding] indices must be i32 or i64, got f32");
  EXPECT_GLINT_ERROR(embedding(z({4}), ids), "[embedding] weight must be 2-d (rows, dim), got shape (4)");
  EXPECT_GLINT_ERROR(embedding(z({4, 2}, DType::i32), ids), "[embedding] weight must be f32, f16 or bf16, got i32");
}

// Device-side ids are not range-checked (that would sync); the kernel writes zeros instead of reading out of bounds.
TEST(Indexing, EmbeddingDeviceIdsOutOfRangeGiveZeros) {
  for (Device dev : vulkan_devices()) {
    Tensor w = rand({4, 3}, DType::f32, dev, 9);
    Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 4, -2, 1000000}, {4}, DType::i64, dev);
    std::vector<float> wv = w.to_f32(), want(12, 0.f);
    std::copy(wv.begin() + 3, wv.begin() + 6, want.begin());
    EXPECT_CLOSE(embedding(w, ids), want, kExact);
    EXPECT_GLINT_ERROR(embedding(w.to(Device::cpu()), ids), "[embedding] tensors on different devices: cpu and vulkan");
  }
}

// ---- concat --------------------------------------------------------------------------------------------------------

std::vector<float> naive_concat(const std::vector<Tensor>& xs, int dim, const Shape& out_shape) {
  std::vector<float> out(size_t(numel_of(out_shape)));
  int64_t at = 0;
  for (const Tensor& x : xs) {
    const std::vector<float> v = x.to_f32();
    for (size_t i = 0; i < v.size(); ++i) {
      Shape c = unravel(int64_t(i), x.shape());
      c[dim] += at;
      out[ravel(c, out_shape)] = v[i];
    }
    at += x.shape()[dim];
  }
  return out;
}

TEST(Indexing, ConcatMatchesNaiveLoop) {
  for (Device dev : test_devices()) {
    for (DType dt : kAllDTypes) {
      SCOPED_TRACE(dev.str() + " " + std::string(dtype_name(dt)));
      std::vector<Tensor> xs = {rand_strided({2, 3, 5}, dt, dev, 1, -100, 100), rand({2, 0, 5}, dt, dev, 2),
                                rand({2, 1, 5}, dt, dev, 3, -100, 100), rand_strided({2, 4, 5}, dt, dev, 4, -100, 100)};
      Tensor got = concat(xs, -2);
      ASSERT_EQ(got.shape(), (Shape{2, 8, 5}));
      EXPECT_CLOSE(got, naive_concat(xs, 1, {2, 8, 5}), kExact);
    }
    std::vector<Tensor> rows = {rand({1, 7}, DType::f32, dev, 5), rand_strided({3, 7}, DType::f32, dev, 6)};
    EXPECT_CLOSE(concat(rows, 0), naive_concat(rows, 0, {4, 7}), kExact);
    std::vector<Tensor> cols = {rand_strided({3, 2}, DType::f16, dev, 7), rand({3, 13}, DType::f16, dev, 8)};
    EXPECT_CLOSE(concat(cols, 1), naive_concat(cols, 1, {3, 15}), kExact);
    Tensor one = rand_strided({4, 3}, DType::f32, dev, 9);
    EXPECT_CLOSE(concat({one}, 1), one, kExact);
    EXPECT_EQ(concat({rand({0, 3}, DType::f32, dev), rand({0, 3}, DType::f32, dev)}, 0).shape(), (Shape{0, 3}));
    EXPECT_EQ(concat({rand({2, 0}, DType::f32, dev), rand({3, 0}, DType::f32, dev)}, 0).shape(), (Shape{5, 0}));
  }
}

TEST(Indexing, ConcatErrors) {
  Tensor a = z({2, 3}), b = z({2, 4});
  EXPECT_GLINT_ERROR(concat({}, 0), "[concat] needs at least one tensor");
  EXPECT_GLINT_ERROR(concat({a, b}, 0), "[concat] shapes (2,3) and (2,4) differ outside dimension 0");
  EXPECT_GLINT_ERROR(concat({a, z({2, 3, 1})}, 0), "[concat] shapes (2,3) and (2,3,1) differ");
  EXPECT_GLINT_ERROR(concat({a, z({2, 3}, DType::f16)}, 0), "[concat] dtype mismatch: f32 and f16");
  EXPECT_GLINT_ERROR(concat({a, b}, 2), "[concat] dimension 2 out of range for 2-d tensor");
  EXPECT_GLINT_ERROR(concat({a, b}, -3), "[concat] dimension -3 out of range for 2-d tensor");
  EXPECT_GLINT_ERROR(concat({z({}), z({})}, 0), "[concat] cannot concatenate 0-d tensors");
  for (Device dev : vulkan_devices())
    EXPECT_GLINT_ERROR(concat({a.to(Device::cpu()), a.to(dev)}, 0), "[concat] tensors on different devices");
}

// ---- index_select --------------------------------------------------------------------------------------------------

// index_select(x, dim, idx) == gather(x, dim, idx broadcast along the other dims).
std::vector<float> naive_index_select(const Tensor& x, int dim, const Tensor& idx) {
  Shape shape = x.shape();
  shape[dim] = idx.numel();
  const std::vector<int64_t> iv = ints(idx);
  std::vector<int64_t> full(size_t(numel_of(shape)));
  for (size_t i = 0; i < full.size(); ++i) full[i] = iv[unravel(int64_t(i), shape)[dim]];
  return naive_gather(x, dim, Tensor::from_vector(full, shape, DType::i64, Device::cpu()));
}

TEST(Indexing, IndexSelectMatchesNaiveLoop) {
  for (Device dev : test_devices()) {
    for (DType dt : kAllDTypes) {
      for (DType it : kIndexTypes) {
        SCOPED_TRACE(dev.str() + " " + std::string(dtype_name(dt)) + " idx " + std::string(dtype_name(it)));
        Tensor x = rand_strided({5, 7, 3}, dt, dev, 11, -100, 100);
        for (int dim : {0, 1, 2, -1, -3}) {
          const int d = dim < 0 ? dim + 3 : dim;
          // Duplicates, a strided index view, an empty index.
          for (const Tensor& idx :
               {randint({9}, 0, x.shape()[d], it, dev, 12 + d),
                randint({10}, 0, x.shape()[d], it, dev, 20 + d).slice(0, 1, 10, 2), randint({0}, 0, 1, it, dev)}) {
            Tensor got = index_select(x, dim, idx);
            Shape shape = x.shape();
            shape[d] = idx.numel();
            ASSERT_EQ(got.shape(), shape);
            EXPECT_CLOSE(got, naive_index_select(x, d, idx), kExact);
          }
        }
      }
    }
  }
}

TEST(Indexing, IndexSelectErrors) {
  Tensor x = z({5, 5});
  Tensor idx = Tensor::from_vector(std::vector<int64_t>{0, 5}, {2}, DType::i64, Device::cpu());
  EXPECT_GLINT_ERROR(index_select(x, 1, idx), "[index_select] index 5 out of range for dimension 1 of size 5");
  EXPECT_GLINT_ERROR(index_select(x, 0, z({2}, DType::i64).reshape({1, 2})), "[index_select] indices must be 1-d");
  EXPECT_GLINT_ERROR(index_select(x, 0, z({2}, DType::bf16)), "[index_select] indices must be i32 or i64, got bf16");
  EXPECT_GLINT_ERROR(index_select(x, 2, idx), "[index_select] dimension 2 out of range for 2-d tensor");
  EXPECT_GLINT_ERROR(index_select(z({}), 0, idx), "[index_select] x must have at least one dimension");
}

// ---- gather --------------------------------------------------------------------------------------------------------

TEST(Indexing, GatherMatchesNaiveLoop) {
  for (Device dev : test_devices()) {
    for (DType dt : {DType::f32, DType::bf16, DType::i64, DType::u8}) {
      for (DType it : kIndexTypes) {
        SCOPED_TRACE(dev.str() + " " + std::string(dtype_name(dt)) + " idx " + std::string(dtype_name(it)));
        Tensor x = rand_strided({4, 6, 5}, dt, dev, 30, 0, 100);
        for (int dim : {1, -1, 0}) {
          const int d = dim < 0 ? dim + 3 : dim;
          Shape longer = {3, 5, 4};  // smaller than x off dim, longer along it
          longer[d] = 9;
          for (const Shape& s : {longer, x.shape(), Shape{1, 1, 1}, Shape{2, 0, 3}}) {
            Tensor idx = randint(s, 0, x.shape()[d], it, dev, 31 + d);
            Tensor got = gather(x, dim, idx);
            ASSERT_EQ(got.shape(), s);
            EXPECT_CLOSE(got, naive_gather(x, d, idx), kExact);
          }
          // Non-contiguous indices.
          Tensor idx = randint({5, 2, 3}, 0, x.shape()[d], it, dev, 40 + d).transpose(0, 2);
          EXPECT_CLOSE(gather(x, dim, idx), naive_gather(x, d, idx), kExact);
        }
      }
    }
  }
}

TEST(Indexing, GatherErrors) {
  Tensor x = z({4, 6});
  EXPECT_GLINT_ERROR(gather(x, 0, z({4}, DType::i64)), "[gather] indices have 1 dims but x has 2");
  EXPECT_GLINT_ERROR(gather(x, 0, z({2, 7}, DType::i64)),
                     "[gather] index shape (2,7) exceeds x's shape (4,6) in dimension 1");
  EXPECT_GLINT_ERROR(gather(x, 0, z({2, 2}, DType::u8)), "[gather] indices must be i32 or i64, got u8");
  EXPECT_GLINT_ERROR(gather(x, -3, z({2, 2}, DType::i64)), "[gather] dimension -3 out of range for 2-d tensor");
  EXPECT_GLINT_ERROR(gather(x, 1, full({4, 1}, 6, DType::i32, Device::cpu())),
                     "[gather] index 6 out of range for dimension 1 of size 6");
  for (Device dev : vulkan_devices()) {
    // Device-side indices out of range gather zeros.
    Tensor xv = rand({2, 3}, DType::f32, dev, 2);
    Tensor idx = Tensor::from_vector(std::vector<int32_t>{2, -1, 3, 0}, {2, 2}, DType::i32, dev);
    std::vector<float> v = xv.to_f32();
    EXPECT_CLOSE(gather(xv, 1, idx), (std::vector<float>{v[2], 0.f, 0.f, v[3]}), kExact);
  }
}

// ---- scatter_add ---------------------------------------------------------------------------------------------------

std::vector<double> naive_scatter_add(const Tensor& x, int dim, const Tensor& idx, const Tensor& src) {
  const std::vector<float> xv = x.to_f32(), sv = src.to_f32();
  const std::vector<int64_t> iv = ints(idx);
  std::vector<double> out(xv.begin(), xv.end());
  for (size_t i = 0; i < iv.size(); ++i) {
    Shape c = unravel(int64_t(i), idx.shape());
    const double v = sv[ravel(c, src.shape())];
    c[dim] = iv[i];
    out[ravel(c, x.shape())] += v;
  }
  return out;
}

// Within tol(dtype): f32 sums of at most 9 terms of magnitude < 2 err by < 9 * 2^-24 * 18 = 1e-5 absolute at worst
// (the order differs from the reference's on Vulkan); f16/bf16 are summed in f32 and rounded once.
void expect_scatter_add(const Tensor& x, int dim, const Tensor& idx, const Tensor& src) {
  const int d = dim < 0 ? dim + x.ndim() : dim;
  const std::vector<double> want = naive_scatter_add(x, d, idx, src);
  Tensor got = scatter_add(x, dim, idx, src);
  ASSERT_EQ(got.shape(), x.shape());
  EXPECT_EQ(got.dtype(), x.dtype());
  EXPECT_CLOSE(got, std::vector<float>(want.begin(), want.end()), tol(x.dtype()));
}

TEST(Indexing, ScatterAddMatchesNaiveLoop) {
  for (Device dev : test_devices()) {
    for (DType dt : {DType::f32, DType::f16, DType::bf16, DType::i32}) {
      for (DType it : kIndexTypes) {
        SCOPED_TRACE(dev.str() + " " + std::string(dtype_name(dt)) + " idx " + std::string(dtype_name(it)));
        const bool integer = dt == DType::i32;
        auto values = [&](const Shape& s, uint64_t seed) {
          return integer ? randint(s, -50, 50, dt, dev, seed) : rand_strided(s, dt, dev, seed);
        };
        Tensor x = values({5, 7}, 50);
        // 9 updates into 3 rows: duplicates everywhere; src larger than idx; negative dims.
        expect_scatter_add(x, 0, randint({9, 6}, 0, 3, it, dev, 51), values({10, 7}, 52));
        expect_scatter_add(x, -1, randint({4, 9}, 0, 7, it, dev, 53), values({5, 9}, 54));
        // Broadcast (stride-0) indices: every row adds into the same columns.
        expect_scatter_add(x, 1, randint({1, 4}, 0, 7, it, dev, 55).expand({5, 4}), values({5, 4}, 56));
        Tensor x3 = values({3, 4, 5}, 57);
        expect_scatter_add(x3, 1, randint({2, 8, 5}, 0, 4, it, dev, 58), values({3, 8, 5}, 59));
        // Zero-size index and zero-size x.
        expect_scatter_add(x, 0, randint({0, 7}, 0, 5, it, dev), values({0, 7}, 60));
        expect_scatter_add(values({0, 3}, 61), 1, randint({0, 3}, 0, 3, it, dev), values({0, 3}, 62));
      }
    }
  }
}

TEST(Indexing, ScatterAddErrors) {
  Tensor x = z({4, 3}), src = z({4, 3});
  Tensor idx = z({4, 3}, DType::i64);
  EXPECT_GLINT_ERROR(scatter_add(x, 0, idx, z({4, 3}, DType::f16)), "[scatter_add] dtype mismatch: f32 and f16");
  EXPECT_GLINT_ERROR(scatter_add(z({4, 3}, DType::u8), 0, idx, z({4, 3}, DType::u8)),
                     "[scatter_add] dtype must be f32, f16, bf16 or i32, got u8");
  EXPECT_GLINT_ERROR(scatter_add(x, 0, z({4, 3}), src), "[scatter_add] indices must be i32 or i64, got f32");
  EXPECT_GLINT_ERROR(scatter_add(x, 0, z({4}, DType::i64), src), "[scatter_add] x, indices and src must have the same");
  EXPECT_GLINT_ERROR(scatter_add(x, 0, z({5, 3}, DType::i64), src),
                     "[scatter_add] index shape (5,3) exceeds src (4,3)");
  EXPECT_GLINT_ERROR(scatter_add(x, 0, z({2, 4}, DType::i64), z({2, 4})),
                     "[scatter_add] index shape (2,4) exceeds src (2,4) or x (4,3) in dimension 1");
  EXPECT_GLINT_ERROR(scatter_add(x, 2, idx, src), "[scatter_add] dimension 2 out of range for 2-d tensor");
  EXPECT_GLINT_ERROR(scatter_add(x, 1, full({4, 3}, 3, DType::i32, Device::cpu()), src),
                     "[scatter_add] index 3 out of range for dimension 1 of size 3");
  for (Device dev : vulkan_devices()) {
    // Device-side indices out of range are dropped.
    Tensor ones = full({1, 4}, 1, DType::f32, dev);
    Tensor bad = Tensor::from_vector(std::vector<int64_t>{1, 9, -1, 1}, {1, 4}, DType::i64, dev);
    EXPECT_CLOSE(scatter_add(zeros({1, 3}, DType::f32, dev), 1, bad, ones), (std::vector<float>{0, 2, 0}), kExact);
  }
}

// ---- topk ----------------------------------------------------------------------------------------------------------

// torch's order: NaN above everything, -0 == +0, stable (lower index first) among equals.
bool before(float a, float b, bool largest) {
  if (std::isnan(a) || std::isnan(b)) return largest ? !std::isnan(b) : !std::isnan(a);
  return largest ? a > b : a < b;
}

void expect_topk(const Tensor& x, int64_t k, int dim, bool largest) {
  const int d = dim < 0 ? dim + x.ndim() : dim;
  const std::vector<float> xv = x.to_f32();
  Shape shape = x.shape();
  shape[d] = k;
  std::vector<float> want_v(size_t(numel_of(shape)));
  std::vector<int64_t> want_i(want_v.size());
  for (size_t o = 0; o < want_v.size(); ++o) {
    Shape c = unravel(int64_t(o), shape);
    if (c[d] != 0) continue;  // fill each row from its first output
    std::vector<int64_t> order(size_t(x.shape()[d]));
    std::iota(order.begin(), order.end(), 0);
    auto at = [&](int64_t j) {
      Shape cj = c;
      cj[d] = j;
      return xv[ravel(cj, x.shape())];
    };
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return before(at(a), at(b), largest); });
    for (int64_t r = 0; r < k; ++r) {
      Shape cr = c;
      cr[d] = r;
      want_v[ravel(cr, shape)] = at(order[r]);
      want_i[ravel(cr, shape)] = order[r];
    }
  }
  auto [values, indices] = topk(x, k, dim, largest);
  ASSERT_EQ(values.shape(), shape);
  ASSERT_EQ(indices.shape(), shape);
  EXPECT_EQ(values.dtype(), x.dtype());
  EXPECT_EQ(indices.dtype(), DType::i64);
  EXPECT_CLOSE(values, want_v, kExact);
  EXPECT_EQ(ints(indices), want_i);
}

TEST(Indexing, TopkMatchesNaiveSort) {
  for (Device dev : test_devices()) {
    for (DType dt : kFloatTypes) {
      SCOPED_TRACE(dev.str() + " " + std::string(dtype_name(dt)));
      Tensor x = rand_strided({6, 37}, dt, dev, 70);
      for (bool largest : {true, false}) {
        for (int64_t k : {1, 5, 37}) expect_topk(x, k, -1, largest);  // k = 1 and k = row length
        expect_topk(x, 4, 0, largest);                                // strided rows
        expect_topk(rand({3, 5, 2}, dt, dev, 71), 2, 1, largest);     // middle dim
      }
      // Many ties: values in {0,..,3}, so index order decides within each value.
      expect_topk(randint({5, 41}, 0, 4, DType::i32, dev, 72).to(dt), 17, 1, true);
      expect_topk(randint({257, 13}, 0, 3, DType::i32, dev, 73).to(dt), 13, -1, false);  // many rows, k = row length
      expect_topk(rand({1, 1}, dt, dev, 74), 1, 0, true);
    }
  }
}

TEST(Indexing, TopkSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v = {0.f, -inf, nan, 1.f, -0.f, inf, -1.f, nan, 0.f, -inf};
  for (Device dev : test_devices()) {
    for (DType dt : kFloatTypes) {
      Tensor x = Tensor::from_vector(v, {10}, DType::f32, Device::cpu()).to(dt).to(dev);
      for (bool largest : {true, false}) expect_topk(x, 10, 0, largest);
      expect_topk(x, 3, 0, false);
    }
  }
}

// LLM sampling shapes: a vocabulary-sized row, a -inf-masked row (ties straddle the k-th element) and k at the limit.
TEST(Indexing, TopkLongRows) {
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    expect_topk(rand({2, 151936}, DType::bf16, dev, 80, -20, 20), 50, -1, true);
    std::vector<float> masked(20011, -std::numeric_limits<float>::infinity());
    for (int i = 0; i < 40; ++i) masked[size_t(i * 487 % 20011)] = float(i % 7);
    Tensor m = Tensor::from_vector(masked, {20011}, DType::f32, Device::cpu()).to(dev);
    expect_topk(m, 300, 0, true);
    expect_topk(rand({3000}, DType::f32, dev, 81), kTopkMaxK, 0, true);
    expect_topk(rand({3000}, DType::f16, dev, 82), 257, 0, false);
  }
}

TEST(Indexing, TopkErrors) {
  Tensor x = z({3, 4});
  EXPECT_GLINT_ERROR(topk(x, 5), "[topk] k = 5 out of range for dimension 1 of size 4");
  EXPECT_GLINT_ERROR(topk(x, -1), "[topk] k = -1 out of range");
  EXPECT_GLINT_ERROR(topk(x, 1, 2), "[topk] dimension 2 out of range for 2-d tensor");
  EXPECT_GLINT_ERROR(topk(z({3}, DType::i32), 1), "[topk] dtype must be f32, f16 or bf16, got i32");
  EXPECT_GLINT_ERROR(topk(z({}), 1), "[topk] x must have at least one dimension");
  auto [v, i] = topk(x, 0, 0);
  EXPECT_EQ(v.shape(), (Shape{0, 4}));
  EXPECT_EQ(i.shape(), (Shape{0, 4}));
  for (Device dev : vulkan_devices())
    EXPECT_GLINT_ERROR(topk(zeros({2000}, DType::f32, dev), kTopkMaxK + 1),
                       "[topk] k = 1025 exceeds the Vulkan kernel's limit of 1024");
}

}  // namespace
}  // namespace glint::test
