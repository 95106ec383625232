// Rotary position embedding (RoPE) as Hugging Face transformers applies it to queries and keys: the inverse
// frequencies of modeling_rope_utils (default, linear, llama3 and dynamic-NTK scaling) and apply_rotary_pos_emb
// (rotate_half, llama / GPT-NeoX) or GPT-J's interleaved pairs, with partial rotary dims (GPT-NeoX, Phi).
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// config.json's "rope_scaling" / "rope_parameters" (attention_factor is 1 for all of these types).
struct RopeScaling {
  enum class Type { none, linear, llama3, dynamic };
  Type type = Type::none;
  double factor = 1.0;            // linear, llama3, dynamic
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  // llama3: the pre-training context; dynamic: config.max_position_embeddings (HF uses that key for it).
  int64_t original_max_position_embeddings = 8192;
};

struct RopeConfig {
  double theta = 10000;     // rope_theta
  int64_t rotary_dim = -1;  // dims rotated from the start of each head (-1: all; HF: head_dim * partial_rotary_factor)
  // false: HF rotate_half, pairs (i, i + rotary_dim/2) (llama, GPT-NeoX); true: pairs (2i, 2i+1) (GPT-J).
  bool interleaved = false;
  RopeScaling scaling;
};

// The rotary_dim / 2 inverse frequencies, computed in f32 step by step as HF's _compute_*_parameters do.
// seq_len matters for dynamic scaling only (HF's max(position_ids) + 1; at most original_max_position_embeddings
// gives the unscaled frequencies).
std::vector<float> rope_inv_freq(const RopeConfig& cfg, int64_t head_dim, int64_t seq_len = 0);

// x (B, H, T, D) of f32 / f16 / bf16, any strides; positions i64 or i32, (B, T) or (T). Returns a new contiguous
// tensor: the first rotary_dim dims of each head rotated by angle position * inv_freq (f32, as HF), the rest copied.
// Dynamic scaling reads max(positions) back to the host, as HF's dynamic_rope_update does (HF also keeps the
// largest frequencies it has seen across calls; this function is stateless).
Tensor apply_rope(const Tensor& x, const Tensor& positions, const RopeConfig& cfg);

// out (B, H, T, D, contiguous) = x rotated; positions f32 expanded to (B, T) (stride 0 for a shared row);
// inv_freq f32 contiguous (rotary_dim / 2), on x's device.
inline OpTable<void(const Tensor& x, const Tensor& positions, const Tensor& inv_freq, bool interleaved,
                    const Tensor& out)>
    rope_kernel("rope");

}  // namespace glint
