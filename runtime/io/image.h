// 8-bit images: PNG files read and written through libpng, conversion to and from float tensors the way diffusers'
// VaeImageProcessor does it (clamp, *255, round), and a grid of a batch (diffusers' make_image_grid).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint::io {

// Pixels in row-major height x width x channels order; channels 1 (gray), 3 (RGB) or 4 (RGBA).
struct Image {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// How float pixel values map to 0..255: [0, 1] (diffusers' output images) or [-1, 1] (what the VAE sees).
enum class PixelRange { zero_one, minus_one_one };

// Reads an 8-bit (or lower, expanded) PNG: gray, RGB or RGBA; palettes become RGB(A), gray with alpha becomes RGBA.
// Fails naming the file when it is missing, not a PNG, truncated or corrupt, or 16 bits per channel.
Image read_png(const std::string& path);
// Writes `image` atomically (a temporary beside `path`, renamed over it); fails naming the file.
void write_png(const std::string& path, const Image& image);

// The image with 1 (gray) or 3 (RGB) channels as Pillow's convert("L") / convert("RGB"): alpha dropped, gray
// repeated, luma (19595 R + 38470 G + 7471 B + 2^15) >> 16.
Image convert(const Image& image, int64_t channels);

// A [C, H, W] tensor (C 1, 3 or 4, any device and dtype) as 8 bits: clamped to `range`, scaled, rounded.
Image to_image(const Tensor& chw, PixelRange range = PixelRange::zero_one);
// Each image of an [N, C, H, W] tensor.
std::vector<Image> to_images(const Tensor& nchw, PixelRange range = PixelRange::zero_one);
// An image as an f32 [C, H, W] tensor in `range` on `device`.
Tensor to_tensor(const Image& image, PixelRange range = PixelRange::zero_one, Device device = default_device());
// Images of one size and channel count as an f32 [N, C, H, W] tensor.
Tensor to_tensor(const std::vector<Image>& images, PixelRange range = PixelRange::zero_one,
                 Device device = default_device());

// The images (one size, one channel count) laid out rows x cols, left to right then top to bottom; cells past the
// last image stay black. Fails when there are more images than cells.
Image make_grid(const std::vector<Image>& images, int64_t rows, int64_t cols);
// make_grid with the most nearly square layout for n images: cols = ceil(sqrt(n)), rows = ceil(n / cols).
Image make_grid(const std::vector<Image>& images);

}  // namespace glint::io
