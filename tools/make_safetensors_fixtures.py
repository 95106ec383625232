#!/usr/bin/env python3
"""Writes the safetensors fixtures of tests/io/test_safetensors.cpp with the real Python libraries.

    python3 -m venv /work/venv-fixtures
    /work/venv-fixtures/bin/pip install safetensors==0.8.0 numpy==2.4.6 ml_dtypes==0.6.0 huggingface_hub==2.4.0
    /work/venv-fixtures/bin/python tools/make_safetensors_fixtures.py

Output in tests/data/safetensors/:
  all_dtypes.safetensors   one tensor per safetensors dtype with known values (metadata {"format": "pt"})
  expected.json            those values as glint reads them (F64 rounded to f32, F8 decoded exactly, BOOL as 0/1)
  metadata.safetensors     several __metadata__ entries, unicode included
  x.safetensors            one f32 tensor, no metadata
  sharded/                 save_pretrained-style shards + model.safetensors.index.json (max_shard_size 1000 bytes)
  versions.json            the library versions that wrote them
torch is not needed: the shards are split by huggingface_hub's own splitter and the index written as transformers does.
"""
import json
import math
from importlib.metadata import version
from pathlib import Path

import ml_dtypes
import numpy as np
from huggingface_hub import split_state_dict_into_shards_factory
from safetensors.numpy import save_file

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "safetensors"
SHARD_LIMIT = 1000


def floats():
    # Ordinary values, signed zero, halfway cases, subnormals and the extremes of each type.
    return [0.0, -0.0, 1.0, -1.5, 0.1, 3.14159, 65504.0, 1e-5, -2.5e-7, 448.0, 1e30, -1e-40, math.inf, -math.inf, math.nan]


def all_dtypes():
    t = {}
    t["f64"] = np.array(floats() + [1.0000000596046448, 2.0**-149], dtype=np.float64).reshape(1, 17)
    t["f32"] = np.array(floats() + [2.0**-149], dtype=np.float32).reshape(4, 4)
    with np.errstate(over="ignore"):  # 1e30 overflows to inf in f16, on purpose
        t["f16"] = np.array(floats() + [2.0**-24], dtype=np.float16).reshape(2, 8)
    t["bf16"] = np.array(floats() + [2.0**-133], dtype=ml_dtypes.bfloat16).reshape(16)
    t["i64"] = np.array([0, 1, -1, 2**62 + 1, -(2**63), 2**63 - 1], dtype=np.int64).reshape(2, 3)
    t["i32"] = np.array([0, 1, -1, 2**31 - 1, -(2**31), 123456], dtype=np.int32).reshape(3, 2)
    t["i16"] = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16).reshape(6)
    t["i8"] = np.array([0, 1, -1, 127, -128, 42], dtype=np.int8).reshape(2, 1, 3)
    t["u8"] = np.array([0, 1, 128, 255, 7, 9], dtype=np.uint8).reshape(6, 1)
    t["bool"] = np.array([True, False, True, True], dtype=np.bool_).reshape(2, 2)
    # Every byte of the two FP8 formats, so decoding is checked exhaustively.
    t["f8_e4m3"] = np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).reshape(16, 16)
    t["f8_e5m2"] = np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e5m2).reshape(16, 16)
    t["scalar"] = np.array(2.5, dtype=np.float32)  # rank 0
    t["empty"] = np.zeros((0, 3), dtype=np.float32)
    return t


def as_read(a):
    """The values glint gives for `a`: JSON numbers, with "nan"/"inf"/"-inf" for what JSON cannot hold."""
    if a.dtype == np.bool_:
        return [int(x) for x in a.reshape(-1)]
    if np.issubdtype(a.dtype, np.integer):
        return [int(x) for x in a.reshape(-1)]
    out = []
    for x in a.reshape(-1).astype(np.float32).astype(np.float64):  # F64 reads as f32; every other float is exact
        out.append("nan" if math.isnan(x) else "inf" if x == math.inf else "-inf" if x == -math.inf else float(x))
    return out


def write_sharded(folder):
    rng = np.random.default_rng(0)
    tensors = {
        "model.embed_tokens.weight": rng.standard_normal((16, 8)).astype(np.float32),  # 512 bytes
        "model.layers.0.attn.q_proj.weight": rng.standard_normal((8, 8)).astype(np.float16),  # 128
        "model.layers.0.attn.k_proj.weight": rng.standard_normal((8, 8)).astype(ml_dtypes.bfloat16),  # 128
        "model.layers.0.norm.weight": np.ones(8, dtype=np.float32),  # 32
        "model.layers.1.mlp.weight": rng.standard_normal((40, 8)).astype(np.float32),  # 1280: a shard of its own
        "model.layers.1.norm.weight": np.full(8, 0.5, dtype=np.float32),
        "model.layers.1.positions": np.arange(64, dtype=np.int64),  # 512
        "lm_head.weight": rng.standard_normal((16, 8)).astype(np.float32),
    }
    split = split_state_dict_into_shards_factory(
        tensors, get_storage_size=lambda a: a.nbytes, filename_pattern="model{suffix}.safetensors",
        max_shard_size=SHARD_LIMIT)
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.iterdir():
        f.unlink()
    for filename, names in split.filename_to_tensors.items():
        save_file({n: tensors[n] for n in names}, str(folder / filename), metadata={"format": "pt"})
    # As transformers' save_pretrained writes the index.
    params = sum(a.size for a in tensors.values())
    index = {"metadata": {"total_parameters": params, **split.metadata}, "weight_map": split.tensor_to_filename}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return tensors


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tensors = all_dtypes()
    save_file(tensors, str(OUT / "all_dtypes.safetensors"), metadata={"format": "pt"})
    expected = {n: {"shape": list(a.shape), "values": as_read(a)} for n, a in tensors.items()}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")

    meta = {"format": "pt", "source": "glint fixtures", "unicode": "héllo wörld ✓", "empty": ""}
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    save_file({"x": x}, str(OUT / "metadata.safetensors"), metadata=meta)
    save_file({"x": x}, str(OUT / "x.safetensors"))  # no metadata

    write_sharded(OUT / "sharded")
    versions = {p: version(p) for p in ["safetensors", "numpy", "ml_dtypes", "huggingface_hub"]}
    (OUT / "versions.json").write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
