"""Samples a folder written by `glint train unet` with diffusers instead of glint: UNet2DConditionModel and
DDIMScheduler from its unet/ and scheduler/ folders, the class rows of class_embeddings.safetensors as one-token
encoder_hidden_states, 50 DDIM steps from torch's seeded noise. Shows the folder is a plain diffusers one (the
samples differ from glint's, whose noise comes from another generator, but look alike).

  sample_unet_diffusers.py DIR OUT.png [--per-class 8] [--steps 50] [--seed 0] [--scale 8]

Pinned: torch 2.15, diffusers 0.42.1, Pillow.
"""

import argparse

import numpy as np
import torch
from diffusers import DDIMScheduler, UNet2DConditionModel
from PIL import Image
from safetensors.torch import load_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("out")
    ap.add_argument("--per-class", type=int, default=8)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=int, default=8)
    a = ap.parse_args()
    unet = UNet2DConditionModel.from_pretrained(a.dir + "/unet").eval()
    scheduler = DDIMScheduler.from_pretrained(a.dir + "/scheduler")
    table = load_file(a.dir + "/class_embeddings.safetensors")["class_embedding"]
    classes = table.shape[0]
    labels = torch.tensor([c for c in range(classes) for _ in range(a.per_class)])
    context = table[labels][:, None, :]
    size = unet.config.sample_size
    x = torch.randn(len(labels), unet.config.in_channels, size, size, generator=torch.Generator().manual_seed(a.seed))
    scheduler.set_timesteps(a.steps)
    with torch.no_grad():
        for t in scheduler.timesteps:
            x = scheduler.step(unet(x, t, encoder_hidden_states=context).sample, t, x).prev_sample
    pixels = ((x.clamp(-1, 1) + 1) / 2 * 255).round().byte().permute(0, 2, 3, 1).numpy()
    rows = [np.concatenate(list(pixels[r * a.per_class:(r + 1) * a.per_class]), axis=1) for r in range(classes)]
    grid = Image.fromarray(np.concatenate(rows, axis=0))
    grid.resize((grid.width * a.scale, grid.height * a.scale), Image.NEAREST).save(a.out)
    print(f"{a.out}: {classes} x {a.per_class} samples ({a.steps} DDIM steps, diffusers)")


if __name__ == "__main__":
    main()
