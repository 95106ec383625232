// transformers' bitsandbytes 4-bit checkpoints (load_in_4bit models saved with save_pretrained). A 4-bit weight
// `P` is stored as the keys
//   P                                   u8 (ceil(n/2), 1): the packed nibbles
//   P.absmax                            f32 (blocks), or u8 (blocks) with double quantisation
//   P.quant_map                         f32 (16): the code table
//   P.nested_absmax, P.nested_quant_map f32: double quantisation only
//   P.quant_state.bitsandbytes__nf4     u8: JSON {"quant_type", "blocksize", "dtype", "shape"[, "nested_blocksize",
//                                       "nested_dtype", "nested_offset"]} (…__fp4 for FP4)
// as bitsandbytes' QuantState.as_dict(packed=True) writes them.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "runtime/io/checkpoint.h"
#include "runtime/ops/quant.h"

namespace glint::io {

// torch's name of a float dtype ("float32", "float16", "bfloat16"), as quant states and config.json spell it.
std::string torch_dtype_name(DType t);
// Whether `prefix` ("model.layers.0.mlp.up_proj.weight") is a bitsandbytes 4-bit weight in `ckpt`.
bool is_bnb_4bit(const Checkpoint& ckpt, const std::string& prefix);
// Reads the 4-bit weight `prefix` onto `device`; errors name the missing or malformed key.
QuantizedTensor load_bnb_4bit(const Checkpoint& ckpt, const std::string& prefix, Device device = Device::cpu());
// The keys and tensors (on the CPU) that store `q` under `prefix`, in the order above, for save_safetensors or
// save_checkpoint; the JSON is byte-identical to bitsandbytes' for the same state.
std::vector<std::pair<std::string, Tensor>> bnb_4bit_tensors(const std::string& prefix, const QuantizedTensor& q);
// The quant_state JSON text bitsandbytes writes for `state` (Python's json.dumps formatting).
std::string bnb_quant_state_json(const QuantState& state);

}  // namespace glint::io
