"""What every benchmark module declares, and the defaults most of them share.

A benchmark is one class. The runner drives it: `load()` yields samples, `decode()` turns the
sample's raw image into PIL images (off the model's thread), `build_requests()` makes the model
calls, `parse()` reads the raw outputs, `score_batch()` scores, and `write_submission()` writes the
official file where scoring is done by a server. Aggregates and CIs come from `vlmcult.stats`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from vlmcult.errors import ConfigError, did_you_mean
from vlmcult.types import Request, Sample


class Benchmark(ABC):
    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    # Variant key -> allowed values; the first value is the default.
    variants: ClassVar[dict[str, tuple[str, ...]]] = {}
    # Per-item metric names (mean over scored items), in report order.
    metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    group_keys: ClassVar[tuple[str, ...]] = ()
    # True when every request carries `choices`, so a scorer backend (open_clip) can answer it.
    multiple_choice: ClassVar[bool] = False
    # Where the data lives when no --data is given (hub id), and what a local source looks like.
    default_source: ClassVar[str | None] = None
    source_help: ClassVar[str] = ""
    # Generation budget per request; `max_new_tokens=` (CLI --max-new-tokens) overrides it.
    default_max_new_tokens: ClassVar[int] = 64

    def __init__(
        self,
        source: str | Path | None = None,
        variant: dict[str, str] | None = None,
        labels: str | Path | None = None,
        **options: Any,
    ) -> None:
        self.source = source if source is not None else self.default_source
        self.variant = self.resolve_variant(variant or {})
        self.labels = Path(labels) if labels is not None else None
        self.max_new_tokens = int(options.pop("max_new_tokens", None) or self.default_max_new_tokens)
        self.options = options
        # Set by the runner before scoring: where a benchmark may keep caches (e.g. judge ratings).
        self.run_dir: Path | None = None

    @classmethod
    def resolve_variant(cls, variant: dict[str, str]) -> dict[str, str]:
        """Fill defaults and refuse unknown keys or values with a suggestion."""
        resolved = {key: values[0] for key, values in cls.variants.items()}
        for key, value in variant.items():
            if key not in cls.variants:
                if not cls.variants:
                    raise ConfigError(f"benchmark {cls.name!r} has no variants (got {key}={value})")
                raise ConfigError(f"unknown variant key {key!r} for {cls.name}{did_you_mean(key, cls.variants)}")
            if value not in cls.variants[key]:
                raise ConfigError(
                    f"unknown value {value!r} for variant {key} of {cls.name}{did_you_mean(value, cls.variants[key])}"
                )
            resolved[key] = value
        return resolved

    # -- data ---------------------------------------------------------------------------------
    @abstractmethod
    def load(self) -> Iterator[Sample]:
        """The samples, streamed (a benchmark never holds its data in memory)."""

    def count(self) -> int | None:
        """Number of samples when cheap to know (for the progress bar), else None."""
        return None

    def decode(self, sample: Sample) -> Any:
        """Raw image -> PIL image(s). Raises DataError for a bad image: the runner records it per item."""
        from vlmcult.images import decode_any

        return decode_any(sample.image)

    # -- model calls --------------------------------------------------------------------------
    @abstractmethod
    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        """The model calls for one sample (several for e.g. CVQA's circular order)."""

    def predict(self, model: Any, samples: list[Sample], requests: list[list[Request]]) -> list[list[Any]]:
        """Run the model on a batch: one list of outputs per sample.

        The default flattens every sample's requests into one `model.generate` call (so backends
        batch), then splits the outputs back. An output is a str, or an Exception instance for a
        request that failed after the backend's retries (recorded as that item's error).
        Benchmarks whose model is not a VLM (retrieval with an Embedder) override this.
        """
        flat = [request for sample_requests in requests for request in sample_requests]
        outputs = model.generate(flat) if flat else []
        per_sample, start = [], 0
        for sample_requests in requests:
            per_sample.append(list(outputs[start : start + len(sample_requests)]))
            start += len(sample_requests)
        return per_sample

    def read_outputs(self, path: Path) -> dict[str, Any]:
        """Outputs made elsewhere, by sample id, for `vlmcult score` (default: JSONL with id, output)."""
        from vlmcult.store import read_predictions_file

        return read_predictions_file(path)

    def parse(self, sample: Sample, outputs: list[str]) -> Any:
        """Raw outputs -> the parsed answer. Must work from the sample alone: `vlmcult score` skips
        decoding and request building."""
        return outputs[0] if len(outputs) == 1 else outputs

    @abstractmethod
    def score(self, sample: Sample, parsed: Any) -> dict[str, float | None]:
        """Per-item metric values; None where the target is hidden."""

    def score_batch(self, samples: list[Sample], parsed: list[Any]) -> list[dict[str, float | None]]:
        """Score a batch; override to batch a judge model. A hidden target scores None."""
        return [self.score(sample, value) for sample, value in zip(samples, parsed)]

    def record_extra(self, sample: Sample, requests: list[Request]) -> dict[str, Any]:
        """Extra keys for the sample's predictions.jsonl line (e.g. retrieved doc ids)."""
        return {}

    # -- aggregation and outputs --------------------------------------------------------------
    def corpus_metrics(self) -> dict[str, Callable[[list[dict[str, Any]]], float | None]]:
        """Metrics that are not a mean of per-item scores (e.g. CIDEr): name -> f(prediction records).

        The statistics module bootstraps them by calling f on resampled records.
        """
        return {}

    def write_submission(self, records: list[dict[str, Any]], run_dir: Path) -> Path | None:
        return None

    def describe(self) -> str:
        return self.__doc__.strip().splitlines()[0] if self.__doc__ else self.name


def option_letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]
