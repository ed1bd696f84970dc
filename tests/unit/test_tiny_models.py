"""The tiny test models build, are deterministic, and reload through the public loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlmcult.testing import tiny


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny")


@pytest.fixture(scope="module")
def made(tiny_models: dict[str, Path]) -> dict[str, Path]:
    """The session's tiny models (tests/conftest.py), built by make_tiny_models once per run."""
    return tiny_models


def _images(n: int) -> list:
    from PIL import Image

    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 200, 0)]
    return [Image.new("RGB", (48, 40), colors[i % len(colors)]) for i in range(n)]


def test_make_tiny_models_layout_and_skip_rebuild(made: dict[str, Path]) -> None:
    root = made["clip"].parent
    assert made == {"clip": root / "clip", "vlm": root / "vlm", "sd": root / "sd"}
    assert (made["clip"] / "open_clip_config.json").is_file()
    assert (made["clip"] / "open_clip_pytorch_model.bin").is_file()
    assert (made["vlm"] / "model.safetensors").is_file()
    assert (made["sd"] / "model_index.json").is_file()
    before = (made["vlm"] / "model.safetensors").stat().st_mtime_ns
    assert tiny.make_tiny_models(root) == made
    assert (made["vlm"] / "model.safetensors").stat().st_mtime_ns == before
    # no temporary build folders are left behind
    assert sorted(p.name for p in root.iterdir()) == ["clip", "sd", "vlm"]


def test_incomplete_folder_is_rebuilt(tiny_root: Path) -> None:
    target = tiny_root / "half"
    target.mkdir()
    (target / "junk.txt").write_text("interrupted")
    tiny.build_tiny_clip(target)
    assert not (target / "junk.txt").exists()
    assert (target / "open_clip_pytorch_model.bin").is_file()


def test_tiny_clip_reloads_through_open_clip(made: dict[str, Path], tiny_root: Path) -> None:
    import open_clip
    import torch

    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{made['clip']}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{made['clip']}")
    model.eval()
    tokens = tokenizer(["a photo of a cat"])
    # the real CLIP ids (offline-models.md section 2)
    assert tokens[0, :7].tolist() == [49406, 320, 1125, 539, 320, 2368, 49407]
    with torch.no_grad():
        image_emb = model.encode_image(torch.stack([preprocess(im) for im in _images(2)]), normalize=True)
        text_emb = model.encode_text(tokens, normalize=True)
    assert image_emb.shape == (2, 32) and text_emb.shape == (1, 32)
    assert torch.allclose(image_emb.norm(dim=-1), torch.ones(2), atol=1e-5)

    # seeded: a second build has exactly the same weights
    other = tiny.build_tiny_clip(tiny_root / "clip-again")
    first = torch.load(made["clip"] / "open_clip_pytorch_model.bin", weights_only=True)
    second = torch.load(other / "open_clip_pytorch_model.bin", weights_only=True)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize("family", tiny.VLM_FAMILIES)
def test_tiny_vlm_reloads_and_generates(family: str, tiny_root: Path) -> None:
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    folder = tiny.build_tiny_vlm(tiny_root / family, family)
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    assert processor.tokenizer.padding_side == "left"  # saved, not just set in memory
    conversations = [
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": f"Describe image {i}."}]}]
        for i in range(2)
    ]
    prompts = processor.apply_chat_template(conversations, add_generation_prompt=True, tokenize=False)
    assert prompts[0].startswith("user: ") and prompts[0].endswith("Describe image 0.\nassistant:")
    images = _images(2)
    if family in ("idefics3", "smolvlm"):
        images = [[im] for im in images]
    inputs = processor(images=images, text=prompts, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert out.shape[0] == 2 and out.shape[1] <= inputs["input_ids"].shape[1] + 3


def test_tiny_vlm_build_is_deterministic(made: dict[str, Path], tiny_root: Path) -> None:
    again = tiny.build_tiny_vlm(tiny_root / "llava-again", "llava")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (made["vlm"] / name).read_bytes()


def test_tiny_vlm_unknown_family(tiny_root: Path) -> None:
    with pytest.raises(ValueError, match="unknown tiny VLM family 'nope'"):
        tiny.build_tiny_vlm(tiny_root / "nope", "nope")


def test_tiny_sd_reloads_and_generates(made: dict[str, Path]) -> None:
    import torch
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(made["sd"])
    pipe.set_progress_bar_config(disable=True)
    # the full real CLIP vocabulary, so prompts tokenize like the real model's
    assert len(pipe.tokenizer) == 49408
    assert pipe.tokenizer("a cat")["input_ids"] == [49406, 320, 2368, 49407]
    images = pipe(
        ["a photo of a cat", "a red square"],
        num_inference_steps=2,
        height=64,
        width=64,
        generator=torch.Generator().manual_seed(0),
    ).images
    assert [im.size for im in images] == [(64, 64), (64, 64)]
    assert all(im.mode == "RGB" for im in images)
