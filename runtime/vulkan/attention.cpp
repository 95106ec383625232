// Vulkan attention: the tiled flash kernel (kernels/flash_attention.comp) for prefill, and for few query positions
// the split-key decode kernel (kernels/flash_decode.comp) with its combine pass. Tile sizes come from the device's
// shared-memory limit and the head dims, which are specialization constants (one pipeline per model shape).
#include "runtime/ops/attention.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

#include "runtime/vulkan/device.h"
#include "runtime/vulkan/dispatch.h"

namespace glint::vk {
namespace {

constexpr const char* kOp = "scaled_dot_product_attention";
constexpr uint32_t kMaxHeadDim = 256;     // bounds the shared q tile and per-thread output registers
constexpr uint32_t kThreads = 128;        // workgroup size of both kernels
constexpr int64_t kMaxDecodeQueries = 8;  // Tq up to this takes the split-key decode path
constexpr uint32_t kDecodeKeys = 64;      // keys per decode tile
constexpr uint64_t kTargetGroups = 256;   // decode: split keys until about this many workgroups run

struct AttentionPC {  // mirrors kernels/common/attention_common.glsl
  uint64_t q, k, v, mask, out;
  uint32_t q_sb, q_sh, q_st;
  uint32_t k_sb, k_sh, k_st;
  uint32_t v_sb, v_sh, v_st;
  uint32_t m_sb, m_sh, m_st;
  uint32_t hq, group, tq, tk;
  float scale;
  uint32_t split_len, n_split, batch, window;
};
static_assert(sizeof(AttentionPC) == 128 && offsetof(AttentionPC, q_sb) == 40 && offsetof(AttentionPC, hq) == 88);

struct CombinePC {  // mirrors kernels/flash_decode_combine.comp
  uint64_t part, out;
  uint32_t rows, n_split, dv, pad_;
};

// Shaders index with 32-bit element offsets.
void check_index_range(const Tensor& t) {
  int64_t last = 0;
  for (int d = 0; d < t.ndim(); ++d) last += (t.dim(d) - 1) * t.strides()[d];
  GLINT_CHECK(last < (int64_t(1) << 32), kOp, "tensor ", t.str(),
              " is too large for the Vulkan kernels' 32-bit indexing");
}

uint32_t u32(int64_t x) { return uint32_t(x); }

AttentionPC push_constants(const AttentionArgs& a) {
  const Shape &qs = a.q.strides(), &ks = a.k.strides(), &vs = a.v.strides();
  AttentionPC pc{};
  pc.q = address(a.q), pc.k = address(a.k), pc.v = address(a.v), pc.out = address(a.out);
  pc.q_sb = u32(qs[0]), pc.q_sh = u32(qs[1]), pc.q_st = u32(qs[2]);
  pc.k_sb = u32(ks[0]), pc.k_sh = u32(ks[1]), pc.k_st = u32(ks[2]);
  pc.v_sb = u32(vs[0]), pc.v_sh = u32(vs[1]), pc.v_st = u32(vs[2]);
  if (a.mask.defined()) {
    const Shape& ms = a.mask.strides();
    pc.mask = address(a.mask), pc.m_sb = u32(ms[0]), pc.m_sh = u32(ms[1]), pc.m_st = u32(ms[2]);
  }
  pc.hq = u32(a.q.dim(1)), pc.group = u32(a.q.dim(1) / a.k.dim(1)), pc.tq = u32(a.q.dim(2)), pc.tk = u32(a.k.dim(2));
  pc.scale = a.scale;
  pc.n_split = 1, pc.batch = u32(a.q.dim(0));
  pc.window = u32(a.window < a.k.dim(2) ? a.window : 0);  // a window of Tk keys or more masks nothing
  return pc;
}

// Mirrors the shared arrays of flash_attention.comp: q and k rows are vec4s (k rows padded by one), v and scores
// floats.
uint32_t prefill_shared_bytes(uint32_t rows, uint32_t bc, uint32_t d, uint32_t dv) {
  const uint32_t d4 = (d + 3) / 4;
  return 4 * (rows * d4 * 4 + bc * (d4 + 1) * 4 + bc * dv + rows * (bc + 1) + 3 * rows);
}

// Output accumulators per thread in flash_attention.comp (ZR * YC there).
uint32_t prefill_registers(uint32_t rows, uint32_t dv) {
  const uint32_t cols = std::min(dv, kThreads), row_groups = kThreads / cols;
  return (rows + row_groups - 1) / row_groups * ((dv + kThreads - 1) / kThreads);
}

uint32_t decode_shared_bytes(uint32_t rows, uint32_t d, uint32_t dv) {
  uint32_t subsets = dv < kThreads ? kThreads / dv : 1;
  return 4 * (rows * d + rows * kDecodeKeys + 3 * rows + (subsets - 1) * rows * dv + 1);
}

[[noreturn]] void shared_memory_error(const Device& dev, uint32_t need, uint32_t d, uint32_t dv) {
  fail(kOp, "head dims ", d, "/", dv, " need ", need, " bytes of shared memory, ", dev.info().name, " has ",
       dev.info().max_shared_memory);
}

// The largest (query rows, key tile) that fits in shared memory with at most 32 output registers per thread, and
// no more query rows than twice Tq.
std::array<uint32_t, 2> prefill_tiles(const Device& dev, uint32_t d, uint32_t dv, int64_t tq) {
  static constexpr std::array<std::array<uint32_t, 2>, 6> kTiles{
      {{64, 32}, {32, 32}, {32, 16}, {16, 16}, {16, 8}, {8, 8}}};
  for (auto [rows, bc] : kTiles) {
    if (rows > 8 && rows / 2 >= tq) continue;
    if (prefill_registers(rows, dv) > 32) continue;
    if (prefill_shared_bytes(rows, bc, d, dv) <= dev.info().max_shared_memory) return {rows, bc};
  }
  shared_memory_error(dev, prefill_shared_bytes(8, 8, d, dv), d, dv);
}

void prefill(const AttentionArgs& a, const std::string& dt, Device& dev) {
  const uint32_t d = u32(a.q.dim(3)), dv = u32(a.v.dim(3));
  const auto [rows, bc] = prefill_tiles(dev, d, dv, a.q.dim(2));
  const AttentionPC pc = push_constants(a);
  const Grid grid{u32((a.q.dim(2) + rows - 1) / rows), pc.hq, pc.batch};
  dispatch("flash_attention_" + dt, pc, grid, {a.q, a.k, a.v, a.mask}, {a.out},
           {kThreads, rows, bc, d, dv, uint32_t(a.causal), uint32_t(a.mask_kind)});
}

void decode(const AttentionArgs& a, const std::string& dt, Device& dev) {
  const uint32_t d = u32(a.q.dim(3)), dv = u32(a.v.dim(3));
  const int64_t b = a.q.dim(0), hkv = a.k.dim(1), tk = a.k.dim(2), rows_per_kv = a.q.dim(1) / hkv * a.q.dim(2);
  uint32_t rows = u32(std::min<int64_t>(rows_per_kv, 8));
  while (rows > 1 && decode_shared_bytes(rows, d, dv) > dev.info().max_shared_memory) rows /= 2;
  if (decode_shared_bytes(rows, d, dv) > dev.info().max_shared_memory)
    shared_memory_error(dev, decode_shared_bytes(rows, d, dv), d, dv);
  const int64_t row_groups = (rows_per_kv + rows - 1) / rows, groups = b * hkv * row_groups;
  // Split the keys so that about kTargetGroups workgroups run, each over at least two tiles.
  const int64_t tiles = std::max<int64_t>(1, (tk + kDecodeKeys - 1) / kDecodeKeys);
  const int64_t want = std::clamp<int64_t>(int64_t(kTargetGroups) / groups, 1, std::max<int64_t>(1, tiles / 2));
  const int64_t split_len = (tiles + want - 1) / want * kDecodeKeys;
  const int64_t n_split = std::max<int64_t>(1, (tk + split_len - 1) / split_len);

  AttentionPC pc = push_constants(a);
  pc.split_len = u32(split_len), pc.n_split = u32(n_split);
  const Grid grid{u32(n_split), u32(hkv * row_groups), u32(b)};
  const std::initializer_list<uint32_t> spec{
      kThreads, rows, kDecodeKeys, d, dv, uint32_t(a.causal), uint32_t(a.mask_kind)};
  if (n_split == 1) {
    dispatch("flash_decode_" + dt, pc, grid, {a.q, a.k, a.v, a.mask}, {a.out}, spec);
    return;
  }
  const int64_t out_rows = a.out.numel() / dv;
  Tensor part = Tensor::empty({out_rows * n_split * (dv + 2)}, DType::f32, a.out.device());
  check_index_range(part);
  pc.out = address(part);
  dispatch("flash_decode_" + dt, pc, grid, {a.q, a.k, a.v, a.mask}, {part}, spec);
  const CombinePC cpc{address(part), address(a.out), u32(out_rows), u32(n_split), dv, 0};
  dispatch("flash_decode_combine_" + dt, cpc, grid_1d(uint64_t(out_rows), 1), {part}, {a.out});
}

void attention_vulkan(const AttentionArgs& a) {
  const int64_t d = a.q.dim(3), dv = a.v.dim(3);
  GLINT_CHECK(d <= kMaxHeadDim && dv <= kMaxHeadDim, kOp, "head dim ", std::max(d, dv),
              " exceeds the Vulkan kernels' maximum of ", kMaxHeadDim);
  for (const Tensor* t : {&a.q, &a.k, &a.v, &a.mask, &a.out})
    if (t->defined()) check_index_range(*t);
  Device& dev = device_of(a.out);
  const std::string dt(dtype_name(a.q.dtype()));
  if (a.q.dim(2) <= kMaxDecodeQueries)
    decode(a, dt, dev);  // subgroup arithmetic: required of every device
  else
    prefill(a, dt, dev);
}

const OpRegistration reg(attention_kernel, DeviceKind::vulkan, attention_vulkan);

}  // namespace
}  // namespace glint::vk
