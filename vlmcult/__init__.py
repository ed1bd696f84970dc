"""vlmcult: measure and improve the cultural competence of vision-language and text-to-image models.

The public API is imported lazily so `import vlmcult` stays fast and pulls in no torch:

    import vlmcult
    results = vlmcult.evaluate("cvqa", "hf:Qwen/Qwen2-VL-2B-Instruct", data="path/to/cvqa", variant={"lang": "en"})
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "evaluate": "vlmcult.runner:evaluate",
    "score": "vlmcult.runner:score",
    "load_benchmark": "vlmcult.api:load_benchmark",
    "load_model": "vlmcult.registry:load_model",
    "compare": "vlmcult.api:compare_runs",
    "build_index": "vlmcult.retrieval.index:build_index",
    "load_index": "vlmcult.retrieval.index:load_index",
    "generate_images": "vlmcult.generation.generate:generate_images",
    "run_audit": "vlmcult.generation.awareness:run_audit",
    "vendi_score": "vlmcult.metrics.vendi:vendi_score",
    "quality_weighted_vendi": "vlmcult.metrics.vendi:quality_weighted_vendi",
    "VlmcultError": "vlmcult.errors:VlmcultError",
    "Request": "vlmcult.types:Request",
    "Sample": "vlmcult.types:Sample",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from vlmcult.registry import import_target

        value = import_target(_LAZY[name])
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vlmcult' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
