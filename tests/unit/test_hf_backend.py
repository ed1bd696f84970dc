"""The transformers backend on tiny random VLMs: batching, padding, budgets, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vlmcult.errors import ModelError
from vlmcult.models import hf
from vlmcult.testing import tiny
from vlmcult.types import Request

FAMILIES = ("llava", "qwen2_vl", "idefics3")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf-tiny")
    return {family: tiny.build_tiny_vlm(root / family, family) for family in FAMILIES}


@pytest.fixture(scope="module")
def models(folders: dict[str, Path]) -> dict[str, hf.HFVLM]:
    return {family: hf.load(str(folder), device="cpu") for family, folder in folders.items()}


def _image(color: tuple[int, int, int], size: tuple[int, int] = (48, 40)):
    from PIL import Image

    return Image.new("RGB", size, color)


def _mixed_requests() -> list[Request]:
    """Different prompt lengths (so the batch is padded), images before/after text, a system prompt, text only."""
    return [
        Request(parts=[_image((255, 0, 0)), "Describe the image."], system="Answer briefly.", max_new_tokens=4),
        Request(
            parts=["What is in this picture? Answer briefly: how many objects are there?", _image((0, 0, 255))],
            max_new_tokens=2,
        ),
        Request(parts=["The quick brown fox jumps over the lazy dog."], max_new_tokens=3),
    ]


def test_import_is_light() -> None:
    code = "import sys, vlmcult.models.hf; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_messages_keep_part_order_and_system() -> None:
    image = _image((1, 2, 3))
    messages = hf.HFVLM.messages(Request(parts=["before", image, "after"], system="sys"))
    assert messages == [
        {"role": "system", "content": [{"type": "text", "text": "sys"}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "before"},
                {"type": "image", "image": image},
                {"type": "text", "text": "after"},
            ],
        },
    ]
    assert hf.HFVLM.messages(Request(parts=["q"]))[0]["role"] == "user"


@pytest.mark.parametrize("family", FAMILIES)
def test_batched_logits_equal_one_at_a_time(models: dict[str, hf.HFVLM], family: str) -> None:
    import torch

    model = models[family]
    requests = _mixed_requests()
    batch_inputs = model.inputs(requests)
    mask = batch_inputs["attention_mask"]
    # left padding: every row ends with a real token and at least one row starts with padding
    assert bool(mask[:, -1].all()) and not bool(mask[:, 0].all())
    batched = model.first_step_logits(requests)
    single = torch.cat([model.first_step_logits([request]) for request in requests])
    assert batched.shape == single.shape == (3, model.model.config.get_text_config().vocab_size)
    # offline-models.md 3.5: compare logits with a tolerance, not greedy text, for random models
    assert torch.allclose(batched, single, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_generate_returns_text_per_request(models: dict[str, hf.HFVLM], family: str) -> None:
    outputs = models[family].generate(_mixed_requests())
    assert len(outputs) == 3
    assert all(isinstance(text, str) for text in outputs)
    text_only = models[family].generate([Request(parts=["Describe the image."], max_new_tokens=2)] * 2)
    assert len(text_only) == 2 and text_only[0] == text_only[1]


def test_budgets_are_per_request(models: dict[str, hf.HFVLM]) -> None:
    model = models["llava"]
    long_budget = [Request(parts=r.parts, system=r.system, max_new_tokens=6) for r in _mixed_requests()]
    full = model.generate_ids(long_budget)
    mixed = model.generate_ids(_mixed_requests())
    assert [len(tokens) <= 6 for tokens in full] == [True] * 3
    for request, cut, whole in zip(_mixed_requests(), mixed, full, strict=True):
        # same batch, same padding, greedy: the short answer is exactly the start of the long one
        assert cut == whole[: request.max_new_tokens]


def test_load_level_max_new_tokens_overrides(folders: dict[str, Path]) -> None:
    model = hf.load(str(folders["llava"]), device="cpu", max_new_tokens=1, batch_size=2)
    ids = model.generate_ids(_mixed_requests()[:2])
    assert all(len(tokens) <= 1 for tokens in ids)
    assert model.batch_size == 2


def test_spec_id_device_and_left_padding(models: dict[str, hf.HFVLM], folders: dict[str, Path]) -> None:
    model = models["llava"]
    assert model.id == f"hf:{folders['llava'].resolve()}"
    assert model.spec.startswith("hf:") and Path(model.spec[3:]).resolve() == folders["llava"].resolve()
    assert model.device == "cpu"
    assert model.processor.tokenizer.padding_side == "left"
    assert str(model.dtype) == "torch.float32"


def test_one_bad_request_does_not_sink_the_batch(models: dict[str, hf.HFVLM]) -> None:
    requests = _mixed_requests()
    bad = Request(parts=[12345, "Describe."])  # not an image: the processor cannot load it
    outputs = models["qwen2_vl"].generate([requests[0], bad, requests[2]])
    assert isinstance(outputs[0], str) and isinstance(outputs[2], str)
    assert isinstance(outputs[1], Exception)


def test_text_only_model_folder_is_refused(tmp_path: Path) -> None:
    from transformers import LlamaForCausalLM

    tokenizer = tiny._build_tokenizer([], 400, tiny._chat_template("<image>"))
    LlamaForCausalLM(tiny._llama_text_config(tokenizer)).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ModelError, match="is not a vision-language model") as info:
        hf.load(str(tmp_path), device="cpu")
    assert "\n" not in str(info.value)


def test_random_files_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelError, match="is not a vision-language model folder") as info:
        hf.load(str(tmp_path), device="cpu")
    assert "\n" not in str(info.value)
    (tmp_path / "config.json").unlink()
    with pytest.raises(ModelError, match=r"no config\.json"):
        hf.load(str(tmp_path), device="cpu")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="hf model folder not found"):
        hf.load(str(tmp_path / "nope"))


def test_hub_id_offline_names_the_id(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError) as info:
        hf.load("vlmcult-test-org/not-a-cached-model")
    message = str(info.value)
    assert "'vlmcult-test-org/not-a-cached-model'" in message
    assert "pass a local folder" in message and "\n" not in message


def test_unknown_dtype(folders: dict[str, Path]) -> None:
    with pytest.raises(ModelError, match="unknown dtype 'int3'"):
        hf.load(str(folders["llava"]), device="cpu", dtype="int3")


def test_cached_hub_id_loads_offline(folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import shutil

    import huggingface_hub.constants

    # the Hub cache layout: models--org--name/{refs/main, snapshots/<commit>/...}
    commit = "0" * 40
    repo = tmp_path / "models--tiny-org--tiny-llava"
    shutil.copytree(folders["llava"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    model = hf.load("tiny-org/tiny-llava", device="cpu")
    assert model.spec == "hf:tiny-org/tiny-llava"
    outputs = model.generate([Request(parts=["hi"], max_new_tokens=2)])
    assert isinstance(outputs[0], str)
