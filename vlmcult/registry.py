"""Names -> "module:attr" strings, imported on first use, so `import vlmcult` stays light."""

from __future__ import annotations

import importlib
from typing import Any

from vlmcult.errors import ConfigError, ModelError, did_you_mean

# Benchmark names are part of the CLI contract.
BENCHMARKS: dict[str, str] = {
    "cvqa": "vlmcult.benchmarks.cvqa:CVQA",
    "culturalvqa": "vlmcult.benchmarks.culturalvqa:CulturalVQA",
    "ravenea-cvqa": "vlmcult.benchmarks.ravenea:RaveneaCVQA",
    "ravenea-cic": "vlmcult.benchmarks.ravenea_cic:RaveneaCIC",
    "ravenea-retrieval": "vlmcult.benchmarks.ravenea_retrieval:RaveneaRetrieval",
    "gimmick-sivqa": "vlmcult.benchmarks.gimmick:GimmickSIVQA",
    "gimmick-coqa": "vlmcult.benchmarks.gimmick:GimmickCOQA",
    "gimmick-ckt": "vlmcult.benchmarks.gimmick:GimmickCKT",
    "gimmick-vvqa": "vlmcult.benchmarks.gimmick:GimmickVVQA",
    "captions": "vlmcult.benchmarks.captions:Captions",
}

# Model spec prefixes (contract): "<backend>:<rest>".
BACKENDS: dict[str, str] = {
    "hf": "vlmcult.models.hf:load",
    "openclip": "vlmcult.models.openclip:load",
    "openai": "vlmcult.models.openai_api:load",
    "sbert": "vlmcult.models.sbert:load",
    "diffusers": "vlmcult.models.diffusion:load",
}

SPEC_HELP = {
    "hf": "hf:<hub-id-or-folder>  transformers vision-language model (AutoModelForImageTextToText)",
    "openclip": "openclip:<arch>[@<pretrained>] or openclip:local-dir:<folder>  CLIP multiple-choice scorer / embedder",
    "openai": "openai:<model> with --api-base URL  OpenAI-compatible chat completions",
    "sbert": "sbert:<hub-id-or-folder>  sentence-transformers text embedder",
    "diffusers": "diffusers:<hub-id-or-folder>  text-to-image pipeline",
}


def import_target(target: str) -> Any:
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def benchmark_class(name: str) -> Any:
    """The benchmark class registered under `name`, or a ConfigError with a suggestion."""
    if name not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {name!r}{did_you_mean(name, BENCHMARKS)}")
    return import_target(BENCHMARKS[name])


def split_spec(spec: str) -> tuple[str, str]:
    """'hf:org/model' -> ('hf', 'org/model'); unknown or malformed specs raise ModelError."""
    backend, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ModelError(
            f"model spec {spec!r} is not of the form BACKEND:NAME (backends: {', '.join(sorted(BACKENDS))})"
        )
    if backend not in BACKENDS:
        raise ModelError(f"unknown model backend {backend!r} in {spec!r}{did_you_mean(backend, BACKENDS)}")
    return backend, rest


def load_model(spec: str, **options: Any) -> Any:
    """Resolve a model spec string to a loaded backend object."""
    backend, rest = split_spec(spec)
    return import_target(BACKENDS[backend])(rest, **options)
