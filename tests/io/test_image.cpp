// PNG reading and writing (against files and pixels from Pillow, tools/make_image_fixtures.py), tensor conversion and
// the image grid.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "runtime/io/image.h"
#include "tests/harness.h"
#include "tests/io/io_test_util.h"

namespace glint::test {
namespace {

using io::Image;
using io::PixelRange;

const std::filesystem::path kImages = io_data_dir() / "images";

// A w x h x c image whose every byte differs from its neighbours (so a transposed or shifted copy shows).
Image pattern(int64_t w, int64_t h, int64_t c, int salt = 0) {
  Image im{w, h, c, std::vector<uint8_t>(size_t(w * h * c))};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t((i * 37 + salt * 101 + 11) % 256);
  return im;
}

TEST(Image, WriteThenReadGivesTheSamePixels) {
  TempDir dir;
  for (int64_t c : {1, 3, 4}) {
    Image im = pattern(7, 5, c);
    std::string path = dir / ("im" + std::to_string(c) + ".png");
    io::write_png(path, im);
    Image back = io::read_png(path);
    EXPECT_EQ(back.width, 7);
    EXPECT_EQ(back.height, 5);
    EXPECT_EQ(back.channels, c);
    EXPECT_EQ(back.pixels, im.pixels) << c << " channels";
  }
}

TEST(Image, ReadsPaletteGrayAlphaAndOneBitFilesAsPillowDoes) {
  const auto meta = nlohmann::json::parse(read_file(kImages / "images.json"));
  for (const auto& [name, want] : meta["files"].items()) {
    Image im = io::read_png((kImages / name).string());
    EXPECT_EQ(im.width, want["width"].get<int64_t>()) << name;
    EXPECT_EQ(im.height, want["height"].get<int64_t>()) << name;
    EXPECT_EQ(im.channels, want["channels"].get<int64_t>()) << name;
    EXPECT_EQ(im.pixels, want["pixels"].get<std::vector<uint8_t>>()) << name;
  }
}

TEST(Image, ConvertsToGrayAndRgbAsPillowDoes) {
  const auto meta = nlohmann::json::parse(read_file(kImages / "images.json"));
  for (const auto& [name, want] : meta["converted"].items()) {
    const Image im = io::read_png((kImages / name).string());
    EXPECT_EQ(io::convert(im, 1).pixels, want["L"].get<std::vector<uint8_t>>()) << name;
    EXPECT_EQ(io::convert(im, 3).pixels, want["RGB"].get<std::vector<uint8_t>>()) << name;
  }
  EXPECT_GLINT_ERROR(io::convert(pattern(2, 2, 3), 4), "convert to 4 channels");
}

TEST(Image, ErrorsNameTheFileAndTheProblem) {
  TempDir dir;
  const std::string missing = dir / "missing.png";
  EXPECT_GLINT_ERROR(io::read_png(missing), missing + ": cannot open");
  const std::string text = dir / "text.png";
  write_file(text, "hello, this is not an image");
  EXPECT_GLINT_ERROR(io::read_png(text), text + ": not a PNG file");
  const std::string gray16 = (kImages / "gray16.png").string();
  EXPECT_GLINT_ERROR(io::read_png(gray16), gray16 + ": unsupported bit depth 16");

  const std::string whole = dir / "whole.png", cut = dir / "cut.png";
  io::write_png(whole, pattern(16, 16, 3));
  const std::string bytes = read_file(whole);
  write_file(cut, bytes.substr(0, bytes.size() / 2));
  EXPECT_GLINT_ERROR(io::read_png(cut), cut + ": truncated");

  std::string corrupt = bytes;  // a flipped byte inside IHDR breaks its CRC
  corrupt[20] = char(corrupt[20] ^ 0x40);
  write_file(dir / "corrupt.png", corrupt);
  EXPECT_GLINT_ERROR(io::read_png(dir / "corrupt.png"), dir / "corrupt.png: IHDR");

  Image two_channels{2, 2, 2, std::vector<uint8_t>(8)};
  EXPECT_GLINT_ERROR(io::write_png(dir / "two.png", two_channels), "cannot write 2 channels");
  Image short_pixels{4, 4, 3, std::vector<uint8_t>(10)};
  EXPECT_GLINT_ERROR(io::write_png(dir / "short.png", short_pixels), "4x4x3 image holds 10 bytes");
  EXPECT_GLINT_ERROR(io::write_png(dir / "no-such-folder/x.png", pattern(2, 2, 3)), "no-such-folder/x.png");
}

TEST(Image, TensorsClampScaleAndRoundLikeDiffusers) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // One channel, 1 x 8: values in [0, 1] plus out-of-range, a half-way value (127.5 rounds to even 128) and NaN.
  Tensor t = Tensor::from_vector(std::vector<float>{0.f, 1.f, -0.5f, 2.f, 0.5f, 0.25f, 1.f / 255.f, nan}, {1, 1, 8},
                                 DType::f32, Device::cpu());
  EXPECT_EQ(io::to_image(t).pixels, (std::vector<uint8_t>{0, 255, 0, 255, 128, 64, 1, 0}));
  // [-1, 1]: -1 -> 0, 0 -> 0.5 -> 128, 1 -> 255.
  Tensor s = Tensor::from_vector(std::vector<float>{-1.f, 0.f, 1.f, -3.f}, {1, 1, 4}, DType::f32, Device::cpu());
  EXPECT_EQ(io::to_image(s, PixelRange::minus_one_one).pixels, (std::vector<uint8_t>{0, 128, 255, 0}));

  // [N, C, H, W] planes <-> interleaved pixels, on every device, both ranges.
  const std::vector<Image> images = {pattern(5, 3, 3, 0), pattern(5, 3, 3, 1)};
  for (Device d : test_devices())
    for (PixelRange r : {PixelRange::zero_one, PixelRange::minus_one_one}) {
      Tensor batch = io::to_tensor(images, r, d);
      ASSERT_EQ(batch.shape(), (Shape{2, 3, 3, 5}));
      const float got = batch.to(Device::cpu()).to_f32()[size_t(1 * 45 + 2 * 15 + 1 * 5 + 4)];  // n1, c2, y1, x4
      const float byte = images[1].pixels[size_t((1 * 5 + 4) * 3 + 2)] / 255.f;
      EXPECT_FLOAT_EQ(got, r == PixelRange::zero_one ? byte : byte * 2 - 1);
      std::vector<Image> back = io::to_images(batch, r);
      ASSERT_EQ(back.size(), 2u);
      EXPECT_EQ(back[0].pixels, images[0].pixels);
      EXPECT_EQ(back[1].pixels, images[1].pixels);
      EXPECT_EQ(io::to_tensor(images[0], r, d).shape(), (Shape{3, 3, 5}));
    }
  EXPECT_GLINT_ERROR(io::to_image(zeros({2, 4, 4}, DType::f32, Device::cpu())), "1, 3 or 4 channels, got 2");
  EXPECT_GLINT_ERROR(io::to_images(zeros({3, 4, 4}, DType::f32, Device::cpu())), "[N, C, H, W]");
  EXPECT_GLINT_ERROR(io::to_tensor({pattern(2, 2, 3), pattern(3, 2, 3)}), "image 1 is 3x2x3");
}

TEST(Image, GridPlacesImagesRowByRowAndLeavesEmptyCellsBlack) {
  std::vector<Image> images;
  for (int i = 0; i < 5; ++i) images.push_back(pattern(4, 3, 3, i + 1));
  Image grid = io::make_grid(images, 2, 3);
  ASSERT_EQ(grid.width, 12);
  ASSERT_EQ(grid.height, 6);
  ASSERT_EQ(grid.channels, 3);
  auto at = [](const Image& im, int64_t x, int64_t y, int64_t ch) {
    return im.pixels[size_t((y * im.width + x) * 3 + ch)];
  };
  for (int64_t gy = 0; gy < grid.height; ++gy)
    for (int64_t gx = 0; gx < grid.width; ++gx) {
      const int64_t cell = gy / 3 * 3 + gx / 4;
      for (int64_t ch = 0; ch < 3; ++ch) {
        const uint8_t want = cell < 5 ? at(images[size_t(cell)], gx % 4, gy % 3, ch) : 0;
        ASSERT_EQ(at(grid, gx, gy, ch), want) << gx << "," << gy;
      }
    }
  // The square default: 5 images -> 3 columns x 2 rows; 4 -> 2 x 2; 1 -> 1 x 1.
  EXPECT_EQ(io::make_grid(images).pixels, grid.pixels);
  images.pop_back();
  EXPECT_EQ(io::make_grid(images).width, 8);
  EXPECT_EQ(io::make_grid({images[0]}).pixels, images[0].pixels);

  EXPECT_GLINT_ERROR(io::make_grid(images, 1, 3), "4 images do not fit 1 rows x 3 columns");
  images.push_back(pattern(4, 3, 1));
  EXPECT_GLINT_ERROR(io::make_grid(images, 2, 3), "image 4 is 4x3x1");
}

}  // namespace
}  // namespace glint::test
