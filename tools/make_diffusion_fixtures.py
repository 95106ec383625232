#!/usr/bin/env python3
"""Fixtures for glint's diffusion models (tests/models/test_diffusion_models.cpp), made with diffusers + transformers.

A tiny random-weight Stable-Diffusion-style pipeline (SD 1.x layout: CLIP text encoder with quick_gelu, a UNet with
conv proj_in/proj_out and an int attention_head_dim, an AutoencoderKL with one downsample) saved with
save_pretrained, two variants in the SD 2.x layout (a gelu text encoder; a UNet with linear projections and a
per-block attention_head_dim list), and what diffusers computes on fixed inputs:

  tests/data/diffusion/tiny-sd/                  the pipeline (model_index.json, text_encoder/, tokenizer/, unet/,
                                                 vae/, scheduler/)
  tests/data/diffusion/clip-gelu/                CLIPTextModel with hidden_act gelu (SD 2.x)
  tests/data/diffusion/unet-linear/              UNet2DConditionModel with use_linear_projection and a list
                                                 attention_head_dim (SD 2.x)
  tests/data/diffusion/expected.safetensors      inputs and outputs (names below), all f32 except ids (i64):
                                                 text.* (CLIP), unet*.*, vae.*, and pipe.* (a 4-step DDIM
                                                 txt2img with CFG from fixed latents: final latents and images),
                                                 img2img.* (strength 0.75: images, replayed noises, final latents)
  tests/data/diffusion/versions.json             the library versions used

Run with /work/venv-fixtures/bin/python. Made with diffusers 0.42.1, transformers 5.24.0 and torch 2.15.0 on the
CPU (pip install diffusers==0.42.1 transformers==5.24.0 to reproduce them bit for bit).
"""
import json
import pathlib

import diffusers
import torch
import transformers
from diffusers import (AutoencoderKL, DDIMScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionPipeline,
                       UNet2DConditionModel)
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "diffusion"
TEXT_DIM = 16
PROMPTS = ["a photo of the cat", "the dog"]
NEGATIVE = ["the dog", ""]
VOCAB = 600


def bytes_to_unicode():
    """CLIP's byte -> printable unicode map (the BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def make_tokenizer(folder):
    """A CLIP BPE tokenizer over the byte alphabet with a few merges (as CLIP's vocab is laid out)."""
    chars = bytes_to_unicode()
    merges = ["a t</w>", "c at</w>", "d o", "do g</w>", "t h", "th e</w>", "p h", "ph o", "pho t", "phot o</w>",
              "o f</w>"]
    vocab = chars + [c + "</w>" for c in chars]
    for m in merges:
        vocab.append(m.replace(" ", ""))
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16)
    assert len(vocab) <= VOCAB
    return tok


def clip_config(act):
    return CLIPTextConfig(vocab_size=VOCAB, hidden_size=TEXT_DIM, intermediate_size=37, num_hidden_layers=2,
                          num_attention_heads=2, max_position_embeddings=16, hidden_act=act, bos_token_id=VOCAB - 2,
                          eos_token_id=VOCAB - 1, pad_token_id=VOCAB - 1, projection_dim=TEXT_DIM)


def unet(linear):
    common = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, norm_num_groups=4,
                  cross_attention_dim=TEXT_DIM, block_out_channels=(8, 16))
    if linear:  # SD 2.x: linear projections, heads per block as a list, CrossAttn blocks on both levels
        return UNet2DConditionModel(**common, down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                                    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                                    attention_head_dim=[2, 4], use_linear_projection=True, flip_sin_to_cos=True,
                                    freq_shift=0)
    return UNet2DConditionModel(**common, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), attention_head_dim=2)


def main():
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    tok_dir = OUT / "tmp-tokenizer"
    tokenizer = make_tokenizer(tok_dir)
    text_encoder = CLIPTextModel(clip_config("quick_gelu")).eval()
    text_encoder_gelu = CLIPTextModel(clip_config("gelu")).eval()
    unet_conv = unet(linear=False).eval()
    unet_linear = unet(linear=True).eval()
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), latent_channels=4,
                        layers_per_block=1, norm_num_groups=4, sample_size=16).eval()
    # Random init leaves some norms at ones / biases at zeros: perturb every parameter so each one matters.
    for m in (text_encoder, text_encoder_gelu, unet_conv, unet_linear, vae):
        with torch.no_grad():
            for p in m.parameters():
                p.add_(torch.randn_like(p) * 0.1)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet_conv,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(OUT / "tiny-sd")
    text_encoder_gelu.save_pretrained(OUT / "clip-gelu")
    unet_linear.save_pretrained(OUT / "unet-linear")
    for f in tok_dir.iterdir():
        f.unlink()
    tok_dir.rmdir()

    g = torch.Generator().manual_seed(1)
    e = {}
    with torch.no_grad():
        ids = tokenizer(["a photo of the cat", "the dog"], padding="max_length", max_length=16,
                        return_tensors="pt").input_ids
        e["text.ids"] = ids
        out = text_encoder(ids, output_hidden_states=True)
        e["text.last"] = out.last_hidden_state
        # clip_skip=1 as StableDiffusionPipeline.encode_prompt does it: the penultimate layer, then final_layer_norm
        e["text.skip1"] = text_encoder.final_layer_norm(out.hidden_states[-2])
        out = text_encoder_gelu(ids, output_hidden_states=True)
        e["text_gelu.last"] = out.last_hidden_state

        states = e["text.last"]
        latents = torch.randn(2, 4, 8, 8, generator=g)
        e["unet.latents"] = latents
        e["unet.timestep"] = torch.tensor([981.0, 3.0])
        e["unet.out"] = unet_conv(latents, e["unet.timestep"], encoder_hidden_states=states).sample
        e["unet_linear.out"] = unet_linear(latents, e["unet.timestep"], encoder_hidden_states=states).sample

        e["vae.latents"] = torch.randn(1, 4, 8, 8, generator=g)
        e["vae.decoded"] = vae.decode(e["vae.latents"]).sample
        e["vae.image"] = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
        dist = vae.encode(e["vae.image"]).latent_dist
        e["vae.mean"] = dist.mean
        e["vae.noise"] = torch.randn(1, 4, 8, 8, generator=g)
        e["vae.sample"] = dist.mean + dist.std * e["vae.noise"]

        # txt2img: two prompts with their negative prompts, 4 DDIM steps, CFG 7.5, from fixed initial latents
        e["pipe.latents0"] = torch.randn(2, 4, 8, 8, generator=g)
        args = dict(prompt=PROMPTS, negative_prompt=NEGATIVE, height=16, width=16, num_inference_steps=4,
                    guidance_scale=7.5, latents=e["pipe.latents0"])
        e["pipe.latents"] = pipe(**args, output_type="latent").images
        e["pipe.images"] = pipe(**args, output_type="pt").images

        # img2img at strength 0.75 (3 of 4 steps) from images in [0, 1]; the pipeline draws the VAE sample's noise
        # and then the added noise from its generator, replayed here so that the test can pass them in
        e["img2img.image"] = torch.rand(2, 3, 16, 16, generator=g)
        img2img = StableDiffusionImg2ImgPipeline(**pipe.components)
        e["img2img.latents"] = img2img(prompt=PROMPTS, negative_prompt=NEGATIVE, image=e["img2img.image"],
                                       strength=0.75, num_inference_steps=4, guidance_scale=7.5,
                                       output_type="latent", generator=torch.Generator().manual_seed(5)).images
        replay = torch.Generator().manual_seed(5)
        e["img2img.sample_noise"] = torch.randn(2, 4, 8, 8, generator=replay)
        e["img2img.noise"] = torch.randn(2, 4, 8, 8, generator=replay)
    save_file({k: v.contiguous().clone() for k, v in e.items()}, str(OUT / "expected.safetensors"))
    (OUT / "versions.json").write_text(json.dumps(
        {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__},
        indent=1) + "\n")
    print("prompt ids", ids.tolist())


if __name__ == "__main__":
    main()
