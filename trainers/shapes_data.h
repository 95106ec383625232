// Procedural images for training image models with no dataset to download: one filled circle, square or triangle
// of random colour, size and position on a dark background of random colour, drawn 4x4-supersampled (smooth edges).
// Every image is a pure function of (seed, index), so a run's data is reproducible and needs no storage; the label
// (the shape) is index % 3, so any run of consecutive indices is balanced across the classes.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint::train {

// The classes, in label order.
enum class ShapeKind : int64_t { circle = 0, square = 1, triangle = 2 };
inline constexpr int64_t kNumShapeKinds = 3;
// "circle", "square" or "triangle".
std::string_view shape_kind_name(int64_t label);

// One drawn image: pixels (3, size, size) channel-major in [0, 1], and its label.
struct ShapeImage {
  std::vector<float> pixels;
  int64_t label = 0;
};

// Image `index` of the set `seed`, `size` x `size` pixels (size >= 8).
ShapeImage draw_shape(uint64_t seed, uint64_t index, int64_t size);

// A batch of images scaled to [-1, 1] (what a pixel-space diffusion model trains on) and their labels.
struct ShapeBatch {
  Tensor images;  // (N, 3, size, size) f32 on the requested device
  std::vector<int64_t> labels;
};
ShapeBatch shape_batch(uint64_t seed, const std::vector<size_t>& indices, int64_t size, Device device);

}  // namespace glint::train
