#include "trainers/shapes_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "runtime/core/error.h"

namespace glint::train {
namespace {

constexpr int kSuper = 4;  // samples per pixel along each axis

// Whether the point (x, y) (pixel units) lies in the shape centred at (cx, cy) with half-extent r.
bool inside(ShapeKind kind, double x, double y, double cx, double cy, double r) {
  const double dx = x - cx, dy = y - cy;
  switch (kind) {
    case ShapeKind::circle:
      return dx * dx + dy * dy <= r * r;
    case ShapeKind::square:  // the same area as the circle would look larger: shrink to its inscribed square's 0.85
      return std::abs(dx) <= 0.85 * r && std::abs(dy) <= 0.85 * r;
    case ShapeKind::triangle: {  // upright, apex at the top, base at cy + r
      if (dy < -r || dy > r) return false;
      const double half_width = r * (dy + r) / (2 * r) * 1.15;
      return std::abs(dx) <= half_width;
    }
  }
  return false;
}

}  // namespace

std::string_view shape_kind_name(int64_t label) {
  static constexpr std::array<std::string_view, kNumShapeKinds> names = {"circle", "square", "triangle"};
  GLINT_CHECK(label >= 0 && label < kNumShapeKinds, "shapes", "no shape with label ", label);
  return names[size_t(label)];
}

ShapeImage draw_shape(uint64_t seed, uint64_t index, int64_t size) {
  GLINT_CHECK(size >= 8, "shapes", "image size must be at least 8 pixels, got ", size);
  // A generator per image keyed by (seed, index): image i does not depend on which others are drawn.
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(index), uint32_t(index >> 32)};
  std::mt19937_64 rng(seq);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  ShapeImage img;
  img.label = int64_t(index % kNumShapeKinds);
  const auto kind = ShapeKind(img.label);
  const double s = double(size);
  const double r = s * (0.18 + 0.14 * u(rng));  // half-extent: 18-32% of the side
  const double cx = r + (s - 2 * r) * u(rng), cy = r + (s - 2 * r) * u(rng);
  // A saturated foreground (one channel high, one low, one anywhere) on a dark, dull background.
  std::array<double, 3> fg{}, bg{};
  const int hi = int(rng() % 3), lo = (hi + 1 + int(rng() % 2)) % 3;
  for (int c = 0; c < 3; ++c) fg[size_t(c)] = c == hi ? 0.8 + 0.2 * u(rng) : c == lo ? 0.2 * u(rng) : u(rng);
  const double base = 0.05 + 0.2 * u(rng);
  for (double& b : bg) b = base + 0.08 * u(rng);

  img.pixels.resize(size_t(3 * size * size));
  for (int64_t y = 0; y < size; ++y)
    for (int64_t x = 0; x < size; ++x) {
      int hits = 0;
      for (int sy = 0; sy < kSuper; ++sy)
        for (int sx = 0; sx < kSuper; ++sx)
          hits += inside(kind, double(x) + (sx + 0.5) / kSuper, double(y) + (sy + 0.5) / kSuper, cx, cy, r);
      const double a = double(hits) / (kSuper * kSuper);
      for (int c = 0; c < 3; ++c)
        img.pixels[size_t((c * size + y) * size + x)] = float(a * fg[size_t(c)] + (1 - a) * bg[size_t(c)]);
    }
  return img;
}

ShapeBatch shape_batch(uint64_t seed, const std::vector<size_t>& indices, int64_t size, Device device) {
  GLINT_CHECK(!indices.empty(), "shapes", "empty batch");
  ShapeBatch batch;
  std::vector<float> all;
  all.reserve(indices.size() * size_t(3 * size * size));
  for (size_t i : indices) {
    ShapeImage img = draw_shape(seed, i, size);
    for (float v : img.pixels) all.push_back(2 * v - 1);
    batch.labels.push_back(img.label);
  }
  batch.images =
      Tensor::from_vector(all, {int64_t(indices.size()), 3, size, size}, DType::f32, Device::cpu()).to(device);
  return batch;
}

}  // namespace glint::train
