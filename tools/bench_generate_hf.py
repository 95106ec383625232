"""Text generation throughput of transformers + PyTorch on the CPU, measured as benchmarks/bench_generate.cpp
measures glint: the same deterministic prompts (--prompt-len tokens per row), greedy, use_cache=True, never
stopping at eos. Prefill = generate(max_new_tokens=1) (the prompt's forward pass and the first token); decode =
(generate(max_new_tokens=N) - prefill) over the N - 1 later tokens. Tokens/s are over the whole batch.

  bench_generate_hf.py --model PATH [--threads N] [--dtype f32|f16] [--prompt-len 128] [--new-tokens 64]
                       [--batches 1,8] [--repeat 3] [--device cpu|cuda]
  bench_generate_hf.py --model FILE.gguf --to-safetensors DIR    (dequantised f32 folder for glint's --rss mode)

PATH is a model folder or a .gguf file (transformers dequantises it to f32, so both sides use the same weights).
The last line printed is JSON for benchmarks/generate.sh. Pinned: torch 2.15, transformers 5.24.
"""

import argparse
import json
import os
import statistics
import time


def load(path, dtype):
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = {"f32": torch.float32, "f16": torch.float16}[dtype]
    if path.endswith(".gguf"):
        model = AutoModelForCausalLM.from_pretrained(
            os.path.dirname(path) or ".", gguf_file=os.path.basename(path), dtype=torch_dtype
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    return model.eval()


def make_prompts(batch, length, vocab):
    # The same ids as bench_generate.cpp's make_prompts.
    return [[3 + (t * 7919 + b * 104729) % (vocab - 3) for t in range(length)] for b in range(batch)]


def timed_generate(model, ids, new_tokens):
    import torch

    sync = torch.cuda.synchronize if ids.is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            use_cache=True,
            pad_token_id=0,
        )
    sync()
    assert out.shape[1] == ids.shape[1] + new_tokens
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--dtype", default="f32")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--to-safetensors")
    ap.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    a = ap.parse_args()
    if a.threads > 0:  # before torch starts its pools
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(a.threads)
    import torch
    import transformers

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    model = load(a.model, a.dtype).to(a.device)
    if a.to_safetensors:
        # save_pretrained refuses models loaded from GGUF (it treats them as quantised); the tensors are plain f32.
        from safetensors.torch import save_file

        os.makedirs(a.to_safetensors, exist_ok=True)
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.save_pretrained(a.to_safetensors)
        # As save_pretrained writes tied weights: the embedding only, under its HF name.
        tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
        if model.config.tie_word_embeddings:
            tensors.pop("lm_head.weight", None)
        save_file(tensors, os.path.join(a.to_safetensors, "model.safetensors"), metadata={"format": "pt"})
        print(json.dumps({"saved": a.to_safetensors}))
        return
    vocab = model.config.vocab_size
    results = []
    for batch in map(int, a.batches.split(",")):
        ids = torch.tensor(make_prompts(batch, a.prompt_len, vocab), dtype=torch.long, device=a.device)
        timed_generate(model, ids, a.new_tokens)  # warm-up
        prefill, decode = [], []
        for _ in range(a.repeat):
            t1 = timed_generate(model, ids, 1)
            tn = timed_generate(model, ids, a.new_tokens)
            prefill.append(batch * a.prompt_len / t1)
            decode.append(batch * (a.new_tokens - 1) / max(tn - t1, 1e-9))
        p, d = statistics.median(prefill), statistics.median(decode)
        print(f"batch {batch}: prefill {p:.1f} tok/s, decode {d:.1f} tok/s (median of {a.repeat})", flush=True)
        results.append({"batch": batch, "prefill_tok_s": p, "decode_tok_s": d})
    print(
        json.dumps(
            {
                "impl": "transformers",
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "model": a.model,
                "dtype": a.dtype,
                "device": a.device,
                "threads": torch.get_num_threads(),
                "prompt_len": a.prompt_len,
                "new_tokens": a.new_tokens,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
