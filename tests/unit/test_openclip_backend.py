"""The open_clip backend: multiple-choice scoring and embeddings on a tiny random CLIP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vlmcult.errors import ConfigError, DataError, ModelError
from vlmcult.models import openclip
from vlmcult.types import Request


@pytest.fixture(scope="module")
def clip_folder(tiny_models: dict[str, Path]) -> Path:
    return tiny_models["clip"]


@pytest.fixture(scope="module")
def model(clip_folder: Path) -> openclip.OpenClipModel:
    return openclip.load(f"local-dir:{clip_folder}", device="cpu", batch_size=2)


def _images(n: int) -> list:
    from PIL import Image

    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (40 + i, 48, 3), dtype=np.uint8)) for i in range(n)]


def test_import_is_light() -> None:
    code = "import sys, vlmcult.models.openclip; print('torch' in sys.modules, 'open_clip' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_identity(model: openclip.OpenClipModel, clip_folder: Path) -> None:
    assert model.spec == f"openclip:local-dir:{clip_folder}"
    assert model.id == f"openclip:local-dir:{clip_folder.resolve()}"
    assert model.dim == 32
    assert model.multiple_choice_only is True


def test_embeddings_match_open_clip_and_are_normalised(model: openclip.OpenClipModel, clip_folder: Path) -> None:
    import open_clip
    import torch

    images = _images(5)  # batch_size=2: three batches
    texts = ["a photo of a cat", "a red square", "a dish from Peru", "a temple", "x"]
    image_embeddings = model.embed_images(images)
    text_embeddings = model.embed_texts(texts)
    assert image_embeddings.dtype == np.float32 and image_embeddings.shape == (5, 32)
    assert text_embeddings.dtype == np.float32 and text_embeddings.shape == (5, 32)
    np.testing.assert_allclose(np.linalg.norm(image_embeddings, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(text_embeddings, axis=1), 1.0, atol=1e-5)

    # the same numbers straight from open_clip, in one batch, normalised by hand
    reference, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{clip_folder}")
    reference.eval()
    tokenizer = open_clip.get_tokenizer(f"local-dir:{clip_folder}")
    with torch.no_grad():
        raw_images = reference.encode_image(torch.stack([preprocess(im) for im in images])).numpy()
        raw_texts = reference.encode_text(tokenizer(texts)).numpy()
    np.testing.assert_allclose(
        image_embeddings, raw_images / np.linalg.norm(raw_images, axis=1, keepdims=True), atol=1e-5
    )
    np.testing.assert_allclose(text_embeddings, raw_texts / np.linalg.norm(raw_texts, axis=1, keepdims=True), atol=1e-5)

    assert model.embed_images([]).shape == (0, 32)
    assert model.embed_texts([]).shape == (0, 32)


def test_multiple_choice_picks_most_similar_option(model: openclip.OpenClipModel) -> None:
    images = _images(2)
    options = [["a cat", "a dog", "a bowl of noodles"], ["rice", "bread"]]
    outputs = model.generate(
        [
            Request(parts=[images[0], "Which?"], choices=options[0]),
            Request(parts=["Which?", images[1]], choices=options[1], choice_labels=["1", "2"]),
        ]
    )
    # expected by hand: cosine similarity of the image with each option text, argmax
    for row, (output, labels) in enumerate(zip(outputs, [["A", "B", "C"], ["1", "2"]], strict=True)):
        similarities = model.embed_texts(options[row]) @ model.embed_images([images[row]])[0]
        assert output == labels[int(np.argmax(similarities))]


def test_multiple_choice_selection_with_known_embeddings(model: openclip.OpenClipModel, monkeypatch) -> None:
    # fixed embeddings make the answers known in advance: image 0 is closest to its 3rd option, image 1 to its 1st
    image_vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    text_vectors = {
        "p": [0.0, 1.0],
        "q": [0.6, 0.8],
        "r": [0.8, 0.6],  # request 0: cos 0, .6, .8 -> C
        "s": [0.6, 0.8],
        "t": [1.0, 0.0],  # request 1: cos .8, 0 -> first label
    }
    monkeypatch.setattr(model, "embed_images", lambda images: image_vectors[: len(images)])
    monkeypatch.setattr(
        model, "embed_texts", lambda texts: np.array([text_vectors[t] for t in texts], dtype=np.float32)
    )
    image = _images(1)[0]
    outputs = model.generate(
        [
            Request(parts=[image], choices=["p", "q", "r"]),
            Request(parts=[image], choices=[]),
            Request(parts=[image], choices=["s", "t"], choice_labels=["yes", "no"]),
        ]
    )
    assert outputs[0] == "C"
    assert isinstance(outputs[1], ConfigError)
    assert outputs[2] == "yes"


def test_requests_it_cannot_score(model: openclip.OpenClipModel) -> None:
    image = _images(1)[0]
    outputs = model.generate(
        [
            Request(parts=["open question without options"]),
            Request(parts=["no image"], choices=["a", "b"]),
            Request(parts=[image, image], choices=["a", "b"]),
            Request(parts=[image], choices=["a", "b"], choice_labels=["A"]),
        ]
    )
    assert isinstance(outputs[0], ConfigError) and "no answer options" in str(outputs[0])
    assert isinstance(outputs[1], DataError) and "has 0 images" in str(outputs[1])
    assert isinstance(outputs[2], DataError) and "has 2 images" in str(outputs[2])
    assert isinstance(outputs[3], DataError)


def test_arch_with_checkpoint_file(clip_folder: Path, tmp_path: Path) -> None:
    import open_clip

    config = json.loads((clip_folder / "open_clip_config.json").read_text())["model_cfg"]
    (tmp_path / "vlmcult-tiny-arch.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path / "vlmcult-tiny-arch.json")
    checkpoint = clip_folder / "open_clip_pytorch_model.bin"
    loaded = openclip.load(f"vlmcult-tiny-arch@{checkpoint}", device="cpu")
    assert loaded.id == f"openclip:vlmcult-tiny-arch@{checkpoint.resolve()}"
    reference = openclip.load(f"local-dir:{clip_folder}", device="cpu")
    np.testing.assert_allclose(loaded.embed_texts(["a cat"]), reference.embed_texts(["a cat"]), atol=1e-6)


def test_missing_pretrained_weights_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelError) as info:
        openclip.load("ViT-B-32@openai", device="cpu")
    message = str(info.value)
    assert message.startswith("pretrained weights for openclip:ViT-B-32@openai are not in the local cache")
    assert "\n" not in message
    assert huggingface_hub.constants.HF_HUB_OFFLINE is True  # restored to what it was


@pytest.mark.parametrize(
    ("rest", "message"),
    [
        ("ViT-B-3@openai", "unknown open_clip architecture 'ViT-B-3' (did you mean 'ViT-B-32'?)"),
        ("ViT-B-32", "openclip:ViT-B-32 needs pretrained weights"),
        ("ViT-B-32@opnai", "'opnai' is neither a pretrained tag of open_clip ViT-B-32 nor a checkpoint file"),
        ("local-dir:/definitely/not/here", "open_clip folder not found"),
    ],
)
def test_bad_specs(rest: str, message: str) -> None:
    with pytest.raises(ModelError) as info:
        openclip.load(rest, device="cpu")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="has no open_clip_config.json"):
        openclip.load(f"local-dir:{tmp_path}", device="cpu")
