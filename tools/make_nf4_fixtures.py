#!/usr/bin/env python3
"""Fixtures for glint's bitsandbytes-compatible 4-bit quantisation (runtime/ops/quant.h, tests/ops/test_quant.cpp).

Runs bitsandbytes' own CPU path (bnb >= 0.45 quantises and dequantises 4-bit on the CPU: the "default" torch
kernel for quantize_4bit, the native library for the nested 8-bit absmax quantisation), so the packed bytes and
absmax are the library's, not a re-implementation.

Writes tests/data/nf4/:
  quant.safetensors   for each weight W and each case (nf4|fp4) x (plain|dq) [x blocksize]:
                        <W>                      the input weight (f32, f16 or bf16)
                        <W>.<case>.packed        u8 (ceil(n/2), 1), first element in the high nibble
                        <W>.<case>.absmax        f32 (plain) or u8 (dq)
                        <W>.<case>.quant_map     f32 (16)
                        <W>.<case>.nested_absmax, .nested_quant_map, .offset (f32, dq only)
                        <W>.<case>.dequant       code[index] * absmax rounded to W's dtype (see below)
  linear_bnb.safetensors  the state dict of bnb.nn.Linear4bit layers (nf4 with double quant, fp4 without) under
                        "q." / "f.", the keys transformers writes for a bnb-4bit checkpoint, plus the float
                        weights they quantised ("q_ref.weight", "f_ref.weight"), an input x and the layers' outputs
  tiny_llama_bnb4/     a 1-layer Llama (hidden 32) loaded by transformers with BitsAndBytesConfig(load_in_4bit,
                      nf4, double quant) on the CPU and saved with save_pretrained (model.safetensors, config.json)
  tiny_llama_ref.safetensors  the float weights of its quantised linear layers, under the same names
  nested.safetensors  double quantisation (nf4, blocksize 64) of larger formula-built f32 weights (NESTED_WEIGHTS):
                      <W>.absmax (u8), .nested_absmax, .nested_quant_map, .offset
  versions.json       library versions, the case list, where bitsandbytes' own CPU dequantisation differs
                      from its arithmetic (below), torch's thread count and the big weight's offset per thread count

bitsandbytes' native CPU dequantize_4bit (the AVX512 kernel of 0.50.2, used when the last dim is even) does not
always compute code[index] * absmax: with blocks that cross rows it applies other blocks' absmax (e.g. (33, 64)
f16 with blocksize 128, and the (40, 96) Linear4bit layers), and it gives FP4 code 8 as -0.0 where the quant_map
(and the default kernel, used for odd last dims) has +0.0. The dequantised references here are therefore the
arithmetic every other bitsandbytes kernel does (the default torch kernel and CUDA: code[index] * absmax in f32,
rounded once), with FP4 code 8 as -0.0 as the native kernels decode it; versions.json lists the cases where the
installed library's CPU output differs from that, and the Linear4bit outputs are x @ W^T + b with that W.
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import bitsandbytes as bnb
import bitsandbytes.functional as F
import transformers
from safetensors.torch import load_file, save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "nf4")

# name: (shape, dtype); sizes not multiples of 64, an odd element count, and > 256 blocks for the nested blocks.
WEIGHTS = {
    "w_f32": ((10, 70), torch.float32),
    "w_f16": ((33, 64), torch.float16),
    "w_bf16": ((7, 129), torch.bfloat16),
    "w_many": ((129, 128), torch.float16),  # 258 blocks: two nested blocks, the last partial (dq cases only)
}
CASES = [(qt, dq, bs) for qt in ("nf4", "fp4") for dq in (False, True) for bs in (64,)] + [("nf4", True, 128)]


def case_name(qt, dq, bs):
    return f"{qt}{'_dq' if dq else ''}{'' if bs == 64 else f'_b{bs}'}"


def reference_dequant(packed, st, like):
    """code[index] * absmax in f32 (absmax itself dequantised as bitsandbytes does), rounded to like's dtype."""
    n = like.numel()
    idx = torch.stack([packed.view(-1) >> 4, packed.view(-1) & 15], 1).view(-1)[:n].long()
    code = st.code.clone()
    if st.quant_type == "fp4":
        code[8] = -0.0
    absmax = st.absmax
    if st.nested:
        absmax = F.dequantize_blockwise(st.absmax, st.state2) + st.offset
    scale = absmax.float().repeat_interleave(st.blocksize)[:n]
    return (code[idx] * scale).to(like.dtype).reshape(like.shape)


def tiny_llama():
    """A transformers bnb-4bit checkpoint made the way users make one: from_pretrained with a BitsAndBytesConfig."""
    torch.manual_seed(1)
    cfg = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=1,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32)
    model = transformers.LlamaForCausalLM(cfg)
    tmp = tempfile.mkdtemp()
    try:
        model.save_pretrained(os.path.join(tmp, "f"))
        qcfg = transformers.BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                               bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.float32)
        q = transformers.AutoModelForCausalLM.from_pretrained(os.path.join(tmp, "f"), quantization_config=qcfg,
                                                              device_map="cpu")
        out = os.path.join(OUT, "tiny_llama_bnb4")
        shutil.rmtree(out, ignore_errors=True)
        q.save_pretrained(out)
        for extra in os.listdir(out):
            if extra not in ("model.safetensors", "config.json"):
                os.remove(os.path.join(out, extra))
        saved = load_file(os.path.join(out, "model.safetensors"))
        ref = {k: v for k, v in model.state_dict().items()
               if k + ".quant_state.bitsandbytes__nf4" in saved}
        save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(OUT, "tiny_llama_ref.safetensors"))
    finally:
        shutil.rmtree(tmp)


# Double-quantisation offsets (torch's mean of the absmax) for long weights, too large to commit: each weight is
# (blocks, 64) f32 with w[i] = ((i * 2654435761) % 1000 - 500) * ((i // 64) % 7 + 1) / 65536, exact in f32, so the
# test rebuilds it. Checks glint's copy of torch's f32 cascade sum where it is defined by one thread (<= 32768).
OFFSET_BLOCKS = [5, 100, 2000, 5000, 20000, 32768]


def formula_weight(blocks):
    i = torch.arange(blocks * 64, dtype=torch.int64)
    return (((i * 2654435761) % 1000 - 500) * ((i // 64) % 7 + 1)).float().div(65536).reshape(blocks, 64)


def long_offsets():
    out = {}
    for b in OFFSET_BLOCKS:
        _, st = F.quantize_4bit(formula_weight(b), blocksize=64, quant_type="nf4", compress_statistics=True)
        out[str(b)] = st.offset.item().hex()
    return out


# Double quantisation of larger weights with a spread of magnitudes, too large to commit, so built by a formula the
# test repeats: w[i] = h(i) * (row * 7919 % 9 + 1) / 1000 in f32 with h(i) = (i * 2654435761) % 1000 - 500, times
# 16 where i * 40503 % 997 == 0 (outliers). Their many absmax near the mean are where bitsandbytes' 8-bit table
# lookup picks other entries than the nearest; "big" has more than 32768 blocks, where torch's mean (the offset)
# depends on its thread count. Only the offset of OFFSET_WEIGHT (3 chunks of torch's two-pass sum) is kept, for
# several thread counts.
NESTED_WEIGHTS = {"spread": (1000, 333), "big": (2049, 1031)}
OFFSET_WEIGHT = (3001, 2053)
OFFSET_THREADS = [1, 2, 3, 8]


def spread_weight(rows, cols):
    i = torch.arange(rows * cols, dtype=torch.int64)
    h = (i * 2654435761) % 1000 - 500
    scale = ((i // cols) * 7919 % 9 + 1).float() * torch.where(i * 40503 % 997 == 0, 16.0, 1.0)
    return (h.float() * scale / 1000).reshape(rows, cols)  # one f32 rounding, in the division


def nested_fixtures():
    """u8 absmax, nested absmax and offset of each formula weight (nf4, blocksize 64) with torch's default thread
    count, and OFFSET_WEIGHT's offset per thread count."""
    tensors, offsets = {}, {}
    threads = torch.get_num_threads()
    for name, (rows, cols) in NESTED_WEIGHTS.items():
        w = spread_weight(rows, cols)
        _, st = F.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=True)
        tensors[name + ".absmax"] = st.absmax
        tensors[name + ".nested_absmax"] = st.state2.absmax
        tensors[name + ".nested_quant_map"] = st.state2.code
        tensors[name + ".offset"] = st.offset.reshape(1).float()
    w = spread_weight(*OFFSET_WEIGHT)
    for t in OFFSET_THREADS:
        torch.set_num_threads(t)
        _, st = F.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=True)
        offsets[str(t)] = st.offset.item().hex()
    torch.set_num_threads(threads)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, "nested.safetensors"))
    return offsets


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    tensors = {}
    differs = {}
    for name, (shape, dtype) in WEIGHTS.items():
        w = (torch.randn(shape) * 0.05).to(dtype)
        w.view(-1)[3] = 0.0  # an exact zero and an exact block maximum
        tensors[name] = w
        for qt, dq, bs in CASES:
            if name == "w_many" and not (dq and bs == 64):
                continue
            packed, st = F.quantize_4bit(w, blocksize=bs, quant_type=qt, compress_statistics=dq)
            key = f"{name}.{case_name(qt, dq, bs)}"
            tensors[key + ".packed"] = packed
            tensors[key + ".absmax"] = st.absmax
            tensors[key + ".quant_map"] = st.code
            if dq:
                tensors[key + ".nested_absmax"] = st.state2.absmax
                tensors[key + ".nested_quant_map"] = st.state2.code
                tensors[key + ".offset"] = st.offset.reshape(1).float()
            want = reference_dequant(packed, st, w)
            got = F.dequantize_4bit(packed, st)
            if not torch.equal(got.view(torch.int16 if got.itemsize == 2 else torch.int32),
                               want.view(torch.int16 if want.itemsize == 2 else torch.int32)):
                differs[key] = int((got.float() != want.float()).sum())  # 0: only the sign of zeros
            tensors[key + ".dequant"] = want
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, "quant.safetensors"))

    # Two Linear4bit layers quantised on the CPU, saved as transformers saves a bnb-4bit model.
    layers = {}
    sd = {}
    x = torch.randn(3, 96)
    for prefix, qt, dq in (("q", "nf4", True), ("f", "fp4", False)):
        ref = torch.nn.Linear(96, 40, bias=True)
        lin = bnb.nn.Linear4bit(96, 40, bias=True, compute_dtype=torch.float32, compress_statistics=dq,
                                quant_type=qt)
        lin.load_state_dict(ref.state_dict())
        lin = lin.to("cpu")
        with torch.no_grad():
            w = reference_dequant(lin.weight.data, lin.weight.quant_state, ref.weight)
            layers[prefix] = x @ w.T + lin.bias
        for k, v in lin.state_dict().items():
            sd[f"{prefix}.{k}"] = v
        sd[f"{prefix}_ref.weight"] = ref.weight.detach()
        sd[f"{prefix}.y"] = layers[prefix].detach()
    sd["x"] = x
    save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(OUT, "linear_bnb.safetensors"))

    tiny_llama()

    versions = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "bitsandbytes": bnb.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "weights": {k: [list(s), str(d).replace("torch.", "")] for k, (s, d) in WEIGHTS.items()},
        "cases": [case_name(*c) for c in CASES],
        "linear_keys": sorted(sd.keys()),
        "bnb_cpu_dequantize_differs": differs,
        "long_offsets": long_offsets(),
        "nested_weights": {k: list(v) for k, v in NESTED_WEIGHTS.items()},
        "offset_weight": list(OFFSET_WEIGHT),
        "offset_by_threads": nested_fixtures(),
        "torch_threads": torch.get_num_threads(),
    }
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(versions, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
