"""Batched, seeded, resumable text-to-image generation into a run directory.

Run directory (contract):
* `images/<prompt id>__s<seed>.png`
* `manifest.jsonl`: one line per image: `id`, `prompt_id`, `prompt`, `seed`, `country`, `concept`, `name`,
  `image` (path relative to the run directory), `model`, `steps`, `guidance`, `height`, `width`.
  Appended and fsynced after each batch's images are on disk, so an image with a manifest line is complete.
* `run.json`: the run record (model, prompt set, seeds, settings, package versions, times).

Image k (0-based) of every prompt uses seed `seed + k` (CUBE's notebook uses seeds 0..15 per prompt).
A rerun with the same settings generates only the images that lack a file or a manifest line.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmcult.errors import ConfigError, DataError
from vlmcult.generation.prompts import PromptItem, load_prompts
from vlmcult.store import JsonlAppender, atomic_write_json, read_jsonl_records

MANIFEST = "manifest.jsonl"
RUN_RECORD = "run.json"
IMAGES_DIR = "images"
# Settings that change the pixels: a resumed run must use the same ones.
_PIXEL_SETTINGS = ("model", "steps", "guidance", "height", "width", "negative_prompt")


@dataclass
class ImageJob:
    id: str
    item: PromptItem
    seed: int
    image: str  # relative path


def parse_size(size: str | Sequence[int] | None) -> tuple[int | None, int | None]:
    """'512x768' (height x width) or '512' -> (height, width); None keeps the model's default."""
    if size is None:
        return None, None
    if not isinstance(size, str):
        height, width = size
        return int(height), int(width)
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*", size)
    if not match:
        raise ConfigError(f"--size {size!r} is not HxW (e.g. 512x512)")
    height = int(match.group(1))
    width = int(match.group(2) or height)
    if height <= 0 or width <= 0 or height % 8 or width % 8:
        raise ConfigError(f"--size {size!r}: height and width must be positive multiples of 8")
    return height, width


def image_file_stem(prompt_id: str, seed: int) -> str:
    """A file-system-safe stem; ids with other characters get a short hash so two ids never collide."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", prompt_id)[:100]
    if safe != prompt_id:
        safe += "-" + hashlib.sha1(prompt_id.encode("utf-8")).hexdigest()[:8]
    return f"{safe}__s{seed}"


def plan_jobs(items: Sequence[PromptItem], images_per_prompt: int, seed: int) -> list[ImageJob]:
    """Every (prompt, seed) image of the run, prompt-major."""
    jobs = []
    for item in items:
        for k in range(images_per_prompt):
            image_seed = seed + k
            stem = image_file_stem(item.id, image_seed)
            jobs.append(ImageJob(id=f"{item.id}__s{image_seed}", item=item, seed=image_seed,
                                 image=f"{IMAGES_DIR}/{stem}.png"))
    return jobs


def completed_ids(out: Path) -> set[str]:
    """Ids whose manifest line exists and whose image file is on disk."""
    done = set()
    for record in read_jsonl_records(out / MANIFEST):
        image = out / str(record.get("image", ""))
        if record.get("id") and image.is_file() and image.stat().st_size > 0:
            done.add(str(record["id"]))
    return done


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("vlmcult", "torch", "diffusers", "transformers"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _git_revision() -> str | None:
    from vlmcult.runner import git_revision

    return git_revision()


def _check_same_settings(out: Path, settings: dict[str, Any]) -> None:
    path = out / RUN_RECORD
    if not path.is_file():
        return
    import json

    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return
    for key in _PIXEL_SETTINGS:
        if key in previous and previous[key] != settings[key]:
            raise ConfigError(
                f"{out} holds a run with {key}={previous[key]!r}, not {settings[key]!r}; "
                "use another --out or the same settings to resume"
            )


def _save_png(image: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    image.save(tmp, format="PNG")
    os.replace(tmp, path)


def generate_images(
    model: str | Any,
    prompts: str | Sequence[PromptItem],
    out: str | os.PathLike[str],
    data: str | os.PathLike[str] | None = None,
    images_per_prompt: int = 1,
    seed: int = 0,
    steps: int = 30,
    guidance: float = 7.5,
    size: str | Sequence[int] | None = None,
    batch_size: int = 4,
    limit: int | None = None,
    negative_prompt: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate `images_per_prompt` images per prompt into `out` (resumable); returns the run record.

    `model` is a `diffusers:` spec or an already loaded ImageGenerator; `prompts` a prompt-set name, a
    prompt file or a list of PromptItem.
    """
    if images_per_prompt < 1:
        raise ConfigError(f"--images-per-prompt must be >= 1, got {images_per_prompt}")
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {batch_size}")
    if steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {steps}")
    height, width = parse_size(size)
    out = Path(out)
    if isinstance(prompts, str):
        source = prompts
        items = load_prompts(prompts, data, limit)
    else:
        source = "custom"
        items = list(prompts)[:limit] if limit else list(prompts)
    if not items:
        raise DataError("no prompts to generate images for")
    if len({item.id for item in items}) != len(items):
        raise DataError("prompt ids are not unique; give each prompt its own id")
    model_id = model if isinstance(model, str) else getattr(model, "id", type(model).__name__)
    settings = {"model": model_id, "steps": steps, "guidance": guidance, "height": height, "width": width,
                "negative_prompt": negative_prompt}
    out.mkdir(parents=True, exist_ok=True)
    (out / IMAGES_DIR).mkdir(exist_ok=True)
    _check_same_settings(out, settings)

    jobs = plan_jobs(items, images_per_prompt, seed)
    done = completed_ids(out)
    todo = [job for job in jobs if job.id not in done]
    record: dict[str, Any] = {
        "schema_version": 1,
        "kind": "generation",
        **settings,
        "prompts": source,
        "data": str(data) if data is not None else None,
        "images_per_prompt": images_per_prompt,
        "seed": seed,
        "seeds": [seed, seed + images_per_prompt - 1],
        "batch_size": batch_size,
        "limit": limit,
        "n_prompts": len(items),
        "n_images": len(jobs),
        "versions": _versions(),
        "git_revision": _git_revision(),
        "command": " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if todo:
        generator = _load_generator(model, device, dtype)
        record["device"] = getattr(generator, "device", None)
        atomic_write_json(out / RUN_RECORD, record)
        _run_batches(generator, todo, out, settings, batch_size, progress)
    record["n_generated"] = len(todo)
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    atomic_write_json(out / RUN_RECORD, record)
    return record


def _load_generator(model: str | Any, device: str | None, dtype: str | None) -> Any:
    if not isinstance(model, str):
        return model
    from vlmcult.registry import load_model, split_spec

    backend, _ = split_spec(model)
    if backend != "diffusers":
        raise ConfigError(f"model {model!r} is not a text-to-image model; use diffusers:<hub-id-or-folder>")
    return load_model(model, device=device, dtype=dtype)


def _run_batches(generator: Any, todo: list[ImageJob], out: Path, settings: dict[str, Any], batch_size: int,
                 progress: bool) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with JsonlAppender(out / MANIFEST) as manifest, Progress(*columns, disable=not progress, transient=True) as bar:
        task = bar.add_task("generate", total=len(todo))
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            images = generator.generate(
                [job.item.prompt for job in batch], [job.seed for job in batch], steps=settings["steps"],
                guidance=settings["guidance"], height=settings["height"], width=settings["width"],
                **({"negative_prompt": settings["negative_prompt"]} if settings["negative_prompt"] else {}),
            )
            if len(images) != len(batch):
                raise DataError(f"the generator returned {len(images)} images for {len(batch)} prompts")
            for job, image in zip(batch, images):
                _save_png(image, out / job.image)
            manifest.append_batch(
                {
                    "id": job.id,
                    "prompt_id": job.item.id,
                    "prompt": job.item.prompt,
                    "seed": job.seed,
                    "country": job.item.country,
                    "concept": job.item.concept,
                    "name": job.item.name,
                    "image": job.image,
                    **settings,
                }
                for job in batch
            )
            bar.advance(task, len(batch))


def read_manifest(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """A generation run's manifest lines (the last one per id), or a DataError when there are none."""
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST).is_file():
        raise DataError(f"{run_dir} has no {MANIFEST}; run `vlmcult generate --out {run_dir}` first")
    by_id: dict[str, dict[str, Any]] = {}
    for record in read_jsonl_records(run_dir / MANIFEST):
        by_id[str(record.get("id"))] = record
    if not by_id:
        raise DataError(f"{run_dir / MANIFEST} lists zero images; generate some first")
    return list(by_id.values())


if __name__ == "__main__":  # `python -m vlmcult.generation.generate ...` = `vlmcult generate ...`
    from vlmcult.generation.cli import main_generate

    main_generate()
