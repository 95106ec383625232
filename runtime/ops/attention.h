// Scaled-dot-product attention, softmax(q k^T * scale + mask) v, with causal, sliding-window and padding masks,
// GQA/MQA and KV-cache decode shapes: a fused (flash-style) kernel per backend and a composite fallback that is their
// test oracle.
#pragma once
#include <optional>

#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

struct AttentionOptions {
  // Query i attends keys j <= i + (Tk - Tq): the diagonal is aligned bottom-right, as with a KV cache (HF's rule).
  bool causal = false;
  // Optional. Either a key-padding mask (B, Tk) of an integer dtype, nonzero = attend (HF's attention_mask), or an
  // additive float mask broadcastable to (B, Hq, Tq, Tk) (-inf masks a key). Causal and a mask may be combined.
  Tensor mask;
  // Multiplies q k^T; defaults to 1/sqrt(D).
  std::optional<double> scale;
  // Sliding-window attention (Mistral, Qwen2): with causal, query i also drops keys j <= i + (Tk - Tq) - window, so
  // it sees at most the last `window` keys up to its diagonal (transformers' sliding_window). 0: no window.
  int64_t window = 0;
};

// Attention of q (B, Hq, Tq, D) over k (B, Hkv, Tk, D) and v (B, Hkv, Tk, Dv) -> (B, Hq, Tq, Dv) in q's dtype.
// Hq % Hkv == 0 (GQA/MQA: query head h reads kv head h / (Hq / Hkv)); any strides (e.g. transposed (B,T,H,D) views);
// f32/f16/bf16 with f32 accumulation. A query row whose every key is masked yields zeros (torch yields NaN).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& opts = {});

// The same result from plain, untiled loops in double on the CPU (inputs are copied there and the result back to
// q's device): the oracle of the fused kernels' tests and the path on devices without a fused kernel.
Tensor attention_composite(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts = {});

// How a kernel reads AttentionArgs::mask.
enum class AttentionMask : uint32_t { none = 0, additive = 1, keep = 2 /* nonzero = attend */ };

// What the fused kernels receive, normalised by the definition: q, k, v with a unit stride on the last dim (other
// strides arbitrary); mask f32, viewed as (B, Hq, Tq, Tk) with zero strides on broadcast dims and a unit last stride;
// out contiguous (B, Hq, Tq, Dv) of q's dtype and non-empty.
struct AttentionArgs {
  Tensor q, k, v, mask, out;
  AttentionMask mask_kind = AttentionMask::none;
  float scale = 1.f;
  bool causal = false;
  int64_t window = 0;  // AttentionOptions::window; only with causal
};
inline OpTable<void(const AttentionArgs& args)> attention_kernel("scaled_dot_product_attention");

// Checks q, k, v and opts as scaled_dot_product_attention does and returns them normalised for a kernel, with an
// output of q's dtype allocated on q's device; errors name `op`.
AttentionArgs attention_args(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                             const AttentionOptions& opts);

}  // namespace glint
