// AutoencoderKL::decode_tiled, following diffusers' AutoencoderKL.tiled_decode (0.42): overlapping latent tiles, each
// decoded on its own, then every tile blended into the one above and the one to its left and cropped.
#include <algorithm>
#include <vector>

#include "models/vae/autoencoder_kl.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"

namespace glint {
namespace {

// b with its first `extent` rows (dim 2) or columns (dim 3) faded in from a's last ones: a * (1 - k / extent) +
// b * (k / extent) at offset k, as diffusers' blend_v / blend_h; extent shrinks to what both tiles have.
Tensor blend(const Tensor& a, const Tensor& b, int dim, int64_t extent) {
  extent = std::min({a.dim(dim), b.dim(dim), extent});
  if (extent <= 0) return b;
  // Both weights from the double k / extent, as torch scales by the Python floats (1 - y / e) and (y / e).
  std::vector<float> keep(static_cast<size_t>(extent)), take(static_cast<size_t>(extent));
  for (int64_t k = 0; k < extent; ++k) {
    take[size_t(k)] = float(double(k) / double(extent));
    keep[size_t(k)] = float(1.0 - double(k) / double(extent));
  }
  Shape wshape{1, 1, 1, 1};
  wshape[size_t(dim)] = extent;
  const Tensor w_keep = Tensor::from_vector(keep, wshape, DType::f32, b.device());
  const Tensor w_take = Tensor::from_vector(take, wshape, DType::f32, b.device());
  const Tensor head =
      add(mul(a.slice(dim, a.dim(dim) - extent, a.dim(dim)), w_keep), mul(b.slice(dim, 0, extent), w_take));
  return concat({head, b.slice(dim, extent, b.dim(dim))}, dim);
}

}  // namespace

Tensor AutoencoderKL::decode_tiled(const Tensor& latents) const {
  GLINT_CHECK(latents.ndim() == 4 && latents.dim(1) == config_.latent_channels, "vae", "latents must be (N, ",
              config_.latent_channels, ", h, w), got ", latents.str());
  const int64_t tile_sample = config_.sample_size, tile_latent = tile_sample / downscale();
  GLINT_CHECK(tile_latent >= 4, "vae", "sample_size ", tile_sample, " gives latent tiles of ", tile_latent,
              " (fewer than 4): too small to tile");
  const int64_t h = latents.dim(2), w = latents.dim(3);
  if (h <= tile_latent && w <= tile_latent) return decode(latents);
  // diffusers: int(tile * (1 - 0.25)) latents between tile starts, int(tile * 0.25) pixels blended, the rest kept.
  const int64_t stride = tile_latent * 3 / 4, extent = tile_sample / 4, keep = tile_sample - extent;
  std::vector<std::vector<Tensor>> tiles;  // each blended in place of its decode, as diffusers' rows list
  for (int64_t i = 0; i < h; i += stride) {
    auto& row = tiles.emplace_back();
    for (int64_t j = 0; j < w; j += stride)
      row.push_back(
          decode(latents.slice(2, i, std::min(h, i + tile_latent)).slice(3, j, std::min(w, j + tile_latent))));
  }
  std::vector<Tensor> rows;
  for (size_t i = 0; i < tiles.size(); ++i) {
    std::vector<Tensor> cropped;
    for (size_t j = 0; j < tiles[i].size(); ++j) {
      Tensor& t = tiles[i][j];
      if (i > 0) t = blend(tiles[i - 1][j], t, 2, extent);
      if (j > 0) t = blend(tiles[i][j - 1], t, 3, extent);
      cropped.push_back(t.slice(2, 0, std::min(keep, t.dim(2))).slice(3, 0, std::min(keep, t.dim(3))));
    }
    rows.push_back(concat(cropped, 3));
  }
  return concat(rows, 2);
}

}  // namespace glint
