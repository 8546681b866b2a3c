"""The diffusers back-end, on a tiny random Stable Diffusion pipeline built on disk (no hub, no GPU needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation.base import GenerationRequest, derive_seed
from aigc_workflow.generation.image import ImageGenerator
from aigc_workflow.settings import Settings

pytestmark = pytest.mark.slow


def build_tiny_pipeline(out: Path) -> Path:
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, norm_num_groups=4, attention_head_dim=2,
    )
    vae = AutoencoderKL(
        block_out_channels=[8, 16], in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=4,
        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
    )
    # A character-level CLIP BPE vocabulary: enough to tokenise prompts, nothing to download.
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for code in range(ord("a"), ord("z") + 1):
        vocab[chr(code)] = len(vocab)
        vocab[chr(code) + "</w>"] = len(vocab)
    files = out / "tokenizer-source"
    files.mkdir(parents=True)
    (files / "vocab.json").write_text(json.dumps(vocab))
    (files / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(files / "vocab.json"), str(files / "merges.txt"), model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1, vocab_size=len(vocab),
        max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1,
    ))
    pipe = StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        scheduler=DDIMScheduler(clip_sample=False), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(out / "pipeline")
    return out / "pipeline"


def test_a_local_diffusers_pipeline_draws_seeded_pngs_batch_independently(tmp_path: Path) -> None:
    folder = build_tiny_pipeline(tmp_path / "tiny-sd")
    settings = Settings(home=tmp_path / "home", database_url="sqlite://", device="cpu",
                        image={"steps": 2, "size": 64, "batch_size": 4})
    generator = ImageGenerator(settings, spec=str(folder))
    assert generator.model_version.startswith(f"local:{folder.resolve()}@")
    assert generator.params["backend"] == "diffusers" and not generator.steers
    brief = BriefSpec(ref="sea", modality="image", topic="a sunset over the sea", keywords=("calm",))
    requests = [GenerationRequest(brief, i, derive_seed(0, brief.ref, i)) for i in range(3)]
    drafts = generator.generate(requests)
    batched = [np.asarray(Image.open(d.image_path), dtype=np.int16) for d in drafts]
    assert len({d.image_path for d in drafts}) == 3 and batched[0].shape == (64, 64, 3)
    assert not np.array_equal(batched[0], batched[1])
    with Image.open(drafts[0].image_path) as image:
        assert json.loads(image.text["aigc:lineage"])["prompt"] == "a sunset over the sea, calm"
    assert "latent" not in drafts[0].params  # diffusion noise is the seed's; nothing steers it
    # Alone, the second image is the same up to the last bit of rounding (batched convolutions sum differently).
    alone = np.asarray(Image.open(generator.generate(requests[1:2])[0].image_path), dtype=np.int16)
    assert np.abs(alone - batched[1]).max() <= 1
