"""UNet step time of diffusers + PyTorch on the CPU, measured as benchmarks/bench_unet.cpp measures glint: the
UNet2DConditionModel of --unet (a diffusers folder; bench_unet writes a random one), one forward at timestep 500 on
unit-noise latents (batch, 4, latent, latent) and context states (batch, 77, cross_attention_dim), median of
--reps runs after one warmup, under torch.inference_mode. Inputs are torch's own random numbers: the time does not
depend on the values.

  bench_unet_diffusers.py --unet DIR [--threads N] [--batches 1,8] [--latent 64] [--reps 3]

The last line printed is JSON for benchmarks/unet.sh. Without torch or diffusers it prints a message and a JSON line
with "skipped" and exits 0, so a glint-only machine still runs benchmarks/unet.sh. Pinned: torch 2.15, diffusers
0.42.1.
"""

import argparse
import json
import os
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unet", required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    if a.threads > 0:  # before torch starts its pools
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(a.threads)
    try:
        import torch
        from diffusers import UNet2DConditionModel
    except ImportError as e:
        print(f"diffusers side skipped: {e} (install torch and diffusers to compare)")
        print(json.dumps({"side": "diffusers", "skipped": str(e)}))
        return
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    unet = UNet2DConditionModel.from_pretrained(a.unet, torch_dtype=torch.float32).eval()
    cross = unet.config.cross_attention_dim
    import diffusers

    print(f"diffusers {diffusers.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    results = []
    gen = torch.Generator().manual_seed(1)
    for batch in [int(b) for b in a.batches.split(",")]:
        sample = torch.randn(batch, unet.config.in_channels, a.latent, a.latent, generator=gen)
        context = torch.randn(batch, 77, cross, generator=gen)
        t = torch.tensor(500.0)
        times = []
        with torch.inference_mode():
            for i in range(a.reps + 1):
                start = time.perf_counter()
                unet(sample, t, encoder_hidden_states=context)
                if i > 0:  # the first run is the warmup
                    times.append(time.perf_counter() - start)
        s = statistics.median(times)
        print(f"batch {batch}: {s:.3f} s/step, {batch / s:.2f} images/s")
        results.append({"batch": batch, "step_s": s, "images_s": batch / s})
    print(json.dumps({"side": "diffusers", "threads": torch.get_num_threads(), "latent": a.latent,
                      "results": results}))


if __name__ == "__main__":
    sys.exit(main())
