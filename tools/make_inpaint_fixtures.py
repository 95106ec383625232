#!/usr/bin/env python3
"""Fixtures for glint's inpainting pipeline and tiled VAE decode (tests/models/test_inpaint.cpp), made with diffusers
on the tiny pipeline of tools/make_diffusion_fixtures.py (tests/data/diffusion/tiny-sd, read, not rewritten).

  tests/data/diffusion/unet-inpaint/      a tiny UNet2DConditionModel with in_channels 9 (latents, mask, masked-image
                                          latents), otherwise tiny-sd's UNet config: SD's inpainting checkpoints
  tests/data/diffusion/inpaint.safetensors  (metadata: the library versions)
      legacy.*   StableDiffusionInpaintPipeline with tiny-sd's 4-channel UNet (the known region blended back at every
                 step): image (2,3,16,16) in [0,1], mask (2,1,16,16) in [0,1] (binarised at 0.5 by the pipeline),
                 strength 0.75, 4 DDIM steps, CFG 7.5 with negative prompts; the noises the pipeline drew from its
                 generator, replayed in its order (sample_noise: the image's VAE posterior, noise: the added noise);
                 latents: the final latents (output_type="latent")
      inpaint9.* the same with unet-inpaint at strength 1 (pure noise start): noise, masked_noise (the masked
                 image's VAE posterior noise), latents
      tiled.*    AutoencoderKL tiled decode (enable_tiling: 8-latent tiles, 25% overlap) of latents (1,4,14,14):
                 decoded, and untiled (the plain decode of the same latents)

Run with /work/venv-fixtures/bin/python. Made with diffusers 0.42.1, transformers 5.24.0, torch 2.15.0 on the CPU.
"""
import pathlib

import diffusers
import torch
import transformers
from diffusers import StableDiffusionInpaintPipeline, UNet2DConditionModel
from safetensors.torch import save_file

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "diffusion"
PROMPTS = ["a photo of the cat", "the dog"]
NEGATIVE = ["the dog", ""]


def inpaint_unet(base):
    config = dict(base.config)
    config["in_channels"] = 9
    torch.manual_seed(3)
    unet = UNet2DConditionModel.from_config(config).eval()
    with torch.no_grad():  # as make_diffusion_fixtures.py: perturb every parameter so each one matters
        for p in unet.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return unet


def run(pipe, image, mask, strength, seed):
    return pipe(prompt=PROMPTS, negative_prompt=NEGATIVE, image=image, mask_image=mask, height=16, width=16,
                strength=strength, num_inference_steps=4, guidance_scale=7.5, output_type="latent",
                generator=torch.Generator().manual_seed(seed)).images


def main():
    pipe = StableDiffusionInpaintPipeline.from_pretrained(DATA / "tiny-sd", safety_checker=None,
                                                          requires_safety_checker=False)
    g = torch.Generator().manual_seed(11)
    e = {}
    with torch.no_grad():
        image = torch.rand(2, 3, 16, 16, generator=g)
        mask = torch.rand(2, 1, 16, 16, generator=g)
        e["image"], e["mask"] = image, mask

        # 4-channel UNet: the pipeline draws the image's posterior noise, the added noise, then the masked image's
        # posterior noise (unused by the 4-channel loop)
        e["legacy.latents"] = run(pipe, image, mask, 0.75, 5)
        replay = torch.Generator().manual_seed(5)
        e["legacy.sample_noise"] = torch.randn(2, 4, 8, 8, generator=replay)
        e["legacy.noise"] = torch.randn(2, 4, 8, 8, generator=replay)

        # 9-channel UNet at strength 1: no image latents, so the added noise comes first, then the masked image's
        unet9 = inpaint_unet(pipe.unet)
        unet9.save_pretrained(DATA / "unet-inpaint")
        pipe9 = StableDiffusionInpaintPipeline(**{**pipe.components, "unet": unet9})
        e["inpaint9.latents"] = run(pipe9, image, mask, 1.0, 6)
        replay = torch.Generator().manual_seed(6)
        e["inpaint9.noise"] = torch.randn(2, 4, 8, 8, generator=replay)
        e["inpaint9.masked_noise"] = torch.randn(2, 4, 8, 8, generator=replay)

        vae = pipe.vae
        latents = torch.randn(1, 4, 14, 14, generator=g)
        e["tiled.latents"] = latents
        e["tiled.untiled"] = vae.decode(latents).sample
        vae.enable_tiling()
        e["tiled.decoded"] = vae.decode(latents).sample
        vae.disable_tiling()
    print("tiled vs untiled max abs diff", (e["tiled.decoded"] - e["tiled.untiled"]).abs().max().item())
    versions = {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__}
    save_file({k: v.contiguous().clone() for k, v in e.items()}, str(DATA / "inpaint.safetensors"), metadata=versions)


if __name__ == "__main__":
    main()
