#include "runtime/io/image.h"

#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"

namespace glint::io {

namespace {

constexpr const char* kArea = "image";

// libpng reports errors through a callback that must not return; it longjmps back to the setjmp in the caller, so
// the callers keep every C++ object with a destructor declared before their setjmp (nothing is skipped).
struct PngState {
  const std::string* path;
  const std::vector<uint8_t>* in = nullptr;  // reading: the whole file
  size_t pos = 0;
  std::string* out = nullptr;  // writing: the encoded bytes
  char message[256] = {};
};

void on_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof(s->message), "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // benign chunk quirks should not print from a library

void read_bytes(png_structp png, png_bytep dst, png_size_t n) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (s->in->size() - s->pos < n) png_error(png, "truncated (the file ends before the image does)");
  std::memcpy(dst, s->in->data() + s->pos, n);
  s->pos += n;
}

void write_bytes(png_structp png, png_bytep src, png_size_t n) {
  static_cast<PngState*>(png_get_io_ptr(png))->out->append(reinterpret_cast<const char*>(src), n);
}

void flush_nothing(png_structp) {}

std::vector<uint8_t> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(kArea, path, ": cannot open: ", std::strerror(errno));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint8_t to_byte(float v, PixelRange range) {
  if (range == PixelRange::minus_one_one) v = v * 0.5f + 0.5f;
  // nearbyint rounds halves to even, as numpy's round in diffusers' numpy_to_pil does.
  if (std::isnan(v)) return 0;  // a diverged sample should still write, black rather than undefined
  return static_cast<uint8_t>(std::nearbyint(std::clamp(v, 0.f, 1.f) * 255.f));
}

}  // namespace

Image read_png(const std::string& path) {
  std::vector<uint8_t> bytes = read_whole_file(path);
  if (bytes.size() < 8 || png_sig_cmp(bytes.data(), 0, 8) != 0) fail(kArea, path, ": not a PNG file");
  PngState state{&path, &bytes};
  Image image;
  std::vector<png_bytep> rows;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    fail(kArea, path, ": out of memory creating the PNG reader");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    fail(kArea, path, ": ", state.message);
  }
  png_set_read_fn(png, &state, read_bytes);
  png_read_info(png, info);
  int bit_depth = png_get_bit_depth(png, info), color = png_get_color_type(png, info);
  if (bit_depth > 8) {
    png_destroy_read_struct(&png, &info, nullptr);
    fail(kArea, path, ": unsupported bit depth ", bit_depth, " (8 bits per channel or fewer)");
  }
  // Everything else becomes 8-bit gray, RGB or RGBA.
  const bool transparent_colour = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (transparent_colour) png_set_tRNS_to_alpha(png);
  if (color == PNG_COLOR_TYPE_GRAY_ALPHA || (color == PNG_COLOR_TYPE_GRAY && transparent_colour))
    png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  image.width = png_get_image_width(png, info);
  image.height = png_get_image_height(png, info);
  image.channels = png_get_channels(png, info);
  image.pixels.resize(size_t(image.width * image.height * image.channels));
  rows.resize(size_t(image.height));
  for (int64_t y = 0; y < image.height; ++y) rows[y] = image.pixels.data() + y * image.width * image.channels;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return image;
}

void write_png(const std::string& path, const Image& image) {
  GLINT_CHECK(image.channels == 1 || image.channels == 3 || image.channels == 4, kArea, path, ": cannot write ",
              image.channels, " channels (1, 3 or 4)");
  GLINT_CHECK(
      image.width > 0 && image.height > 0 && image.pixels.size() == size_t(image.width * image.height * image.channels),
      kArea, path, ": ", image.width, "x", image.height, "x", image.channels, " image holds ", image.pixels.size(),
      " bytes");
  std::string encoded;
  PngState state{&path};
  state.out = &encoded;
  std::vector<png_bytep> rows(size_t(image.height));
  for (int64_t y = 0; y < image.height; ++y)
    rows[y] = const_cast<png_bytep>(image.pixels.data() + y * image.width * image.channels);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    fail(kArea, path, ": out of memory creating the PNG writer");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fail(kArea, path, ": ", state.message);
  }
  const int color = image.channels == 1   ? PNG_COLOR_TYPE_GRAY
                    : image.channels == 3 ? PNG_COLOR_TYPE_RGB
                                          : PNG_COLOR_TYPE_RGBA;
  png_set_write_fn(png, &state, write_bytes, flush_nothing);
  png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height), 8, color, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  write_file_atomically(path, encoded, kArea);
}

Image convert(const Image& image, int64_t channels) {
  GLINT_CHECK(channels == 1 || channels == 3, kArea, "convert to ", channels, " channels: 1 or 3 only");
  const int64_t c = image.channels, n = image.width * image.height;
  GLINT_CHECK((c == 1 || c == 3 || c == 4) && image.pixels.size() == size_t(n * c), kArea, "convert: a ", image.width,
              "x", image.height, "x", c, " image holding ", image.pixels.size(), " bytes");
  Image out{image.width, image.height, channels, std::vector<uint8_t>(size_t(n * channels))};
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = image.pixels.data() + i * c;
    uint8_t* q = out.pixels.data() + i * channels;
    if (channels == 3)
      for (int k = 0; k < 3; ++k) q[k] = p[c == 1 ? 0 : k];
    else
      q[0] = c == 1 ? p[0] : uint8_t((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
  }
  return out;
}

Image to_image(const Tensor& chw, PixelRange range) {
  GLINT_CHECK(chw.ndim() == 3, kArea, "to_image wants [C, H, W], got ", shape_str(chw.shape()));
  const int64_t c = chw.dim(0), h = chw.dim(1), w = chw.dim(2);
  GLINT_CHECK(c == 1 || c == 3 || c == 4, kArea, "to_image wants 1, 3 or 4 channels, got ", c);
  std::vector<float> v = chw.to_f32();
  Image image{w, h, c, std::vector<uint8_t>(v.size())};
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < h * w; ++i) image.pixels[size_t(i * c + ch)] = to_byte(v[size_t(ch * h * w + i)], range);
  return image;
}

std::vector<Image> to_images(const Tensor& nchw, PixelRange range) {
  GLINT_CHECK(nchw.ndim() == 4, kArea, "to_images wants [N, C, H, W], got ", shape_str(nchw.shape()));
  Tensor host = nchw.to(Device::cpu());
  std::vector<Image> images;
  for (int64_t n = 0; n < host.dim(0); ++n) images.push_back(to_image(host.select(0, n), range));
  return images;
}

Tensor to_tensor(const Image& image, PixelRange range, Device device) {
  return to_tensor(std::vector{image}, range, device).squeeze(0);
}

Tensor to_tensor(const std::vector<Image>& images, PixelRange range, Device device) {
  GLINT_CHECK(!images.empty(), kArea, "to_tensor of no images");
  const Image& first = images[0];
  const int64_t c = first.channels, hw = first.width * first.height;
  std::vector<float> v(images.size() * size_t(c * hw));
  for (size_t n = 0; n < images.size(); ++n) {
    const Image& im = images[n];
    GLINT_CHECK(im.width == first.width && im.height == first.height && im.channels == c, kArea, "image ", n, " is ",
                im.width, "x", im.height, "x", im.channels, ", image 0 is ", first.width, "x", first.height, "x", c);
    GLINT_CHECK(im.pixels.size() == size_t(c * hw), kArea, "image ", n, " holds ", im.pixels.size(), " bytes");
    float* dst = v.data() + n * size_t(c * hw);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < hw; ++i) {
        float x = im.pixels[size_t(i * c + ch)] / 255.f;
        dst[ch * hw + i] = range == PixelRange::minus_one_one ? x * 2.f - 1.f : x;
      }
  }
  return Tensor::from_vector(v, {int64_t(images.size()), c, first.height, first.width}, DType::f32, device);
}

Image make_grid(const std::vector<Image>& images, int64_t rows, int64_t cols) {
  GLINT_CHECK(!images.empty(), kArea, "make_grid of no images");
  GLINT_CHECK(rows > 0 && cols > 0 && int64_t(images.size()) <= rows * cols, kArea, "make_grid: ", images.size(),
              " images do not fit ", rows, " rows x ", cols, " columns");
  const int64_t w = images[0].width, h = images[0].height, c = images[0].channels;
  Image grid{w * cols, h * rows, c, std::vector<uint8_t>(size_t(w * cols * h * rows * c))};
  for (size_t i = 0; i < images.size(); ++i) {
    const Image& im = images[i];
    GLINT_CHECK(im.width == w && im.height == h && im.channels == c && im.pixels.size() == size_t(w * h * c), kArea,
                "make_grid: image ", i, " is ", im.width, "x", im.height, "x", im.channels, ", image 0 is ", w, "x", h,
                "x", c);
    const int64_t x0 = int64_t(i) % cols * w, y0 = int64_t(i) / cols * h;
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(grid.pixels.data() + ((y0 + y) * grid.width + x0) * c, im.pixels.data() + y * w * c, size_t(w * c));
  }
  return grid;
}

Image make_grid(const std::vector<Image>& images) {
  const auto n = int64_t(images.size());
  const auto cols = std::max<int64_t>(1, int64_t(std::ceil(std::sqrt(double(n)))));
  return make_grid(images, (n + cols - 1) / cols, cols);
}

}  // namespace glint::io
