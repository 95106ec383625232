// bitsandbytes-compatible 4-bit weights (NF4 and FP4): quantisation bit-identical to bitsandbytes'
// quantize_4bit, dequantisation, and a linear layer that reads the packed weight directly (no dequantised copy).
//
// Layout, as bitsandbytes stores it: the tensor is flattened row-major, cut into blocks of `blocksize` elements
// (the last may be short), each block scaled by its absmax into [-1, 1] and every element replaced by the index of
// the nearest of the 16 values of the code table; two indices per byte, the first element in the high nibble.
// With double quantisation (bitsandbytes' compress_statistics) the f32 absmax are themselves quantised: their mean
// (offset) is subtracted and the rest quantised to 8 bits with the dynamic map in blocks of 256, each with its own
// f32 absmax. The 4-bit data stays an ordinary u8 tensor; QuantState carries the rest.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// The two 4-bit code tables of bitsandbytes.
enum class Quant4Type : uint8_t { nf4, fp4 };
// "nf4" / "fp4".
std::string_view quant4_name(Quant4Type t);
// Parses "nf4" / "fp4"; throws on anything else.
Quant4Type parse_quant4(std::string_view name);
// bitsandbytes' signed 8-bit dynamic map (create_dynamic_map(signed=True), 256 ascending f32 values).
const float* dynamic_map_8bit();

// Everything but the packed bytes: bitsandbytes' QuantState. All tensors live on the packed tensor's device.
struct QuantState {
  Shape shape;               // the original tensor's shape
  DType dtype = DType::f32;  // the original tensor's dtype (dequantize_4bit's default output)
  int64_t blocksize = 64;    // elements per absmax block
  Quant4Type quant_type = Quant4Type::nf4;
  Tensor code;           // f32 (16): the code table (checkpoints store it as quant_map)
  Tensor absmax;         // f32 (blocks), or u8 (blocks) with double quantisation
  Tensor nested_absmax;  // double quantisation: f32 (ceil(blocks / nested_blocksize)); else undefined
  Tensor nested_code;    // double quantisation: f32 (256), the 8-bit map (nested_quant_map)
  int64_t nested_blocksize = 256;
  float offset = 0.f;  // double quantisation: the mean absmax, added back after dequantising

  bool nested() const { return nested_absmax.defined(); }
  int64_t numel() const { return numel_of(shape); }
  int64_t blocks() const { return (numel() + blocksize - 1) / blocksize; }
};

// A 4-bit tensor: packed u8 (ceil(numel / 2), 1), as bitsandbytes shapes it, plus its state.
struct QuantizedTensor {
  Tensor packed;
  QuantState state;

  Device device() const { return packed.device(); }
  const Shape& shape() const { return state.shape; }
  // The same tensor on `device` (itself when already there).
  QuantizedTensor to(Device device) const;
  // Bytes held on the device: packed data, absmax, code tables and the nested statistics.
  size_t nbytes() const;
};

// Checks that q is consistent (sizes of the packed data, absmax and nested statistics, dtypes, one device);
// errors start with [op].
void validate_4bit(const QuantizedTensor& q, std::string_view op);
// The intra-op thread count torch uses by default on this machine (MKL_NUM_THREADS, else OMP_NUM_THREADS, else
// the physical cores): what quantize_4bit assumes unless told.
int torch_default_threads();
// bitsandbytes' quantize_4bit(w, blocksize, quant_type, compress_statistics=double_quant): bit-identical packed
// bytes and absmax for f32, f16 and bf16 input. Blocksize is one of 32, 64, ..., 4096 as bitsandbytes allows.
// With double quantisation the offset is torch's mean of the absmax, which from 32768 blocks on depends on how
// many threads torch summed with: torch_threads (0: torch_default_threads()).
// Quantisation runs on the CPU (it is a load-time step); the result is on w's device.
QuantizedTensor quantize_4bit(const Tensor& w, Quant4Type type = Quant4Type::nf4, int64_t blocksize = 64,
                              bool double_quant = false, int torch_threads = 0);
// The f32 absmax of every block (double quantisation undone, as bitsandbytes does), on q's device.
Tensor absmax_f32(const QuantState& state);
// bitsandbytes' dequantize_4bit: code[index] * absmax in f32, rounded once to `dtype` (default: the original).
Tensor dequantize_4bit(const QuantizedTensor& q, std::optional<DType> dtype = {});
// nn.Linear with a 4-bit weight: x (..., in) @ dequantize(weight (out, in))^T + bias (out), in x's dtype with f32
// accumulation. The weight is dequantised piece by piece inside the kernels, never whole. Differentiable with
// respect to x and bias (the weight is frozen, as in QLoRA): grad_x = grad_y @ W through linear_4bit_grad_input.
Tensor linear_4bit(const Tensor& x, const QuantizedTensor& weight, const Tensor& bias = {});
// grad_y (..., out) @ dequantize(weight (out, in)) -> (..., in), in grad_y's dtype with f32 accumulation: the input
// gradient of linear_4bit, dequantising the weight tile by tile as the forward does.
Tensor linear_4bit_grad_input(const Tensor& grad_y, const QuantizedTensor& weight);

// out (contiguous, q.state.shape, a float dtype) = dequantize(q). q is valid and on out's device.
inline OpTable<void(const QuantizedTensor& q, const Tensor& out)> dequantize_4bit_kernel("dequantize_4bit");
// y (M, N) = x (M, K) @ dequantize(w (N, K))^T + bias (N). x and y contiguous, one float dtype; bias undefined or
// contiguous (N) of that dtype; everything on one device; M, N, K > 0.
inline OpTable<void(const Tensor& x, const QuantizedTensor& w, const Tensor& bias, const Tensor& y)> linear_4bit_kernel(
    "linear_4bit");
// gx (M, K) = g (M, N) @ dequantize(w (N, K)). g and gx contiguous, one float dtype, one device; M, N, K > 0.
inline OpTable<void(const Tensor& g, const QuantizedTensor& w, const Tensor& gx)> linear_4bit_grad_input_kernel(
    "linear_4bit_grad_input");

}  // namespace glint
