"""A bad or absent --device is one ModelError line before any weights load (diffusers, open_clip, embedders)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vlmcult.errors import ModelError
from vlmcult.models.devices import resolve_device

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")

NO_GPU = r"device 'cuda' is not available here \(no CUDA GPU\); use --device cpu"
NOT_A_DEVICE = r"device 'gpu' is not a torch device; use cpu, cuda or cuda:N"


def test_resolve_device_accepts_real_devices_and_refuses_invalid_ones() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device(None) == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ModelError, match=NOT_A_DEVICE):
        resolve_device("gpu")
    with pytest.raises(ModelError, match="'cuda:x' is not a torch device"):
        resolve_device("cuda:x")


@no_cuda
def test_resolve_device_refuses_cuda_without_a_gpu() -> None:
    for device in ("cuda", "cuda:0", "cuda:3"):
        with pytest.raises(ModelError, match=f"device '{device}' is not available here"):
            resolve_device(device)


@no_cuda
def test_diffusers_load_refuses_cuda_before_loading(tmp_path: Path) -> None:
    from vlmcult.models import diffusion

    # The folder does not exist: the device is checked first, so no pipeline is looked for.
    with pytest.raises(ModelError, match=NO_GPU):
        diffusion.load(str(tmp_path / "no-pipeline"), device="cuda")
    with pytest.raises(ModelError, match=NOT_A_DEVICE):
        diffusion.load(str(tmp_path / "no-pipeline"), device="gpu")


@no_cuda
def test_openclip_load_refuses_cuda_before_loading() -> None:
    from vlmcult.models import openclip

    with pytest.raises(ModelError, match=NO_GPU):
        openclip.load("ViT-B-32@openai", device="cuda")
    with pytest.raises(ModelError, match=NOT_A_DEVICE):
        openclip.load("ViT-B-32@openai", device="gpu")


@no_cuda
@pytest.mark.parametrize("spec", ["sbert:minilm", "hf:openai/clip-vit-base-patch32", "openclip:ViT-B-32@openai"])
def test_embedders_refuse_cuda_before_loading(spec: str) -> None:
    from vlmcult.retrieval.encode import load_embedder

    with pytest.raises(ModelError, match=NO_GPU):
        load_embedder(spec, device="cuda")
    with pytest.raises(ModelError, match=NOT_A_DEVICE):
        load_embedder(spec, device="gpu")


@no_cuda
def test_generate_cli_device_error_is_one_line(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("id,prompt\np1,a photo of a temple\n")
    result = subprocess.run(
        [sys.executable, "-m", "vlmcult.cli", "generate", "--model", f"diffusers:{tmp_path / 'sd'}",
         "--prompts", str(prompts), "--out", str(tmp_path / "run"), "--device", "cuda", "--quiet"],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [
        "error: device 'cuda' is not available here (no CUDA GPU); use --device cpu"
    ]
