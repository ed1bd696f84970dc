"""`diffusers:<hub-id-or-folder>`: a text-to-image pipeline behind the ImageGenerator protocol.

Each image gets its own CPU `torch.Generator` seeded with its seed, so its initial noise depends on the seed
only: the same seed gives the same image whatever the batch it is in, and the same noise on CPU and GPU.
Weights load in float16 on a GPU and float32 on the CPU.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from vlmcult.errors import ConfigError, ModelError

DEFAULT_STEPS = 30
DEFAULT_GUIDANCE = 7.5


class DiffusersGenerator:
    """ImageGenerator: `generate(prompts, seeds) -> list[PIL.Image]`, batched, one generator per image."""

    def __init__(self, pipeline: Any, model_id: str, device: str) -> None:
        self.pipeline = pipeline
        self.id = f"diffusers:{model_id}"
        self.device = device

    def generate(
        self,
        prompts: list[str],
        seeds: list[int],
        steps: int = DEFAULT_STEPS,
        guidance: float = DEFAULT_GUIDANCE,
        height: int | None = None,
        width: int | None = None,
        negative_prompt: str | None = None,
    ) -> list[Any]:
        """One image per (prompt, seed) pair, in order."""
        import torch

        if len(prompts) != len(seeds):
            raise ConfigError(f"{len(prompts)} prompts but {len(seeds)} seeds: give one seed per image")
        if not prompts:
            return []
        generators = [torch.Generator("cpu").manual_seed(int(seed)) for seed in seeds]
        options: dict[str, Any] = {
            "prompt": list(prompts),
            "num_inference_steps": int(steps),
            "guidance_scale": float(guidance),
            "generator": generators,
            "output_type": "pil",
        }
        if height:
            options["height"] = int(height)
        if width:
            options["width"] = int(width)
        if negative_prompt:
            options["negative_prompt"] = [negative_prompt] * len(prompts)
        with torch.inference_mode():
            images = self.pipeline(**options).images
        return [image.convert("RGB") for image in images]


def load(rest: str, device: str | None = None, dtype: str | None = None, **_: Any) -> DiffusersGenerator:
    """Load `diffusers:<hub-id-or-folder>`; a missing model offline is one ModelError line."""
    import torch

    from vlmcult.models.devices import resolve_device

    device = resolve_device(device)  # a bad --device fails before diffusers is imported
    from diffusers import DiffusionPipeline
    from diffusers.utils import logging as diffusers_logging

    if dtype is None:
        torch_dtype = torch.float16 if device.startswith("cuda") else torch.float32
    else:
        torch_dtype = {"float16": torch.float16, "fp16": torch.float16, "bfloat16": torch.bfloat16,
                       "bf16": torch.bfloat16, "float32": torch.float32, "fp32": torch.float32}.get(str(dtype))
        if torch_dtype is None:
            raise ConfigError(f"unknown dtype {dtype!r}; use float16, bfloat16 or float32")
    local = Path(rest).expanduser()
    if local.exists() and not (local / "model_index.json").is_file():
        raise ModelError(f"{local} is not a diffusers pipeline folder (no model_index.json)")
    from transformers.utils import logging as transformers_logging

    verbosity = diffusers_logging.get_verbosity()
    # Loading notices and per-component progress bars are noise next to our own progress bar.
    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            # diffusers >= 0.36 renames torch_dtype to dtype; torch_dtype works on every supported version.
            warnings.simplefilter("ignore", FutureWarning)
            pipeline = DiffusionPipeline.from_pretrained(
                str(local) if local.exists() else rest, torch_dtype=torch_dtype
            )
    except (OSError, ValueError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        raise ModelError(
            f"cannot load diffusers model {rest!r} ({type(exc).__name__}{', offline' if offline else ''}); "
            "pass a local pipeline folder as diffusers:/path/to/folder"
        ) from None
    finally:
        diffusers_logging.set_verbosity(verbosity)
        diffusers_logging.enable_progress_bar()
        transformers_logging.enable_progress_bar()
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return DiffusersGenerator(pipeline, rest, device)
