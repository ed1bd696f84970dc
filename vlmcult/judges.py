"""Judge models: calling them, caching every rating per item, and GIMMICK's 0-100 judge.

A judge is any generative backend (`hf:` text or vision-language model, `openai:`), given by spec.
Every call is stored in a JSONL cache (normally `<run_dir>/judge_cache.jsonl`) with the judge's
spec, the prompt version, the prompt, the raw output, the rationale and the rating. The cache key is
(spec, prompt version, prompt text, image digests), so re-scoring with the same judge reads the
ratings back instead of calling the judge again, and a different judge or prompt never reuses them.
An output without a rating is stored too (rating None): the item is unscored, and counted.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmcult.types import Request

log = logging.getLogger(__name__)


class Judge:
    """A judge model with the spec it was loaded from (the spec is part of every cache key)."""

    def __init__(self, spec: str, model: Any = None, **options: Any) -> None:
        self.spec = spec
        self._model = model
        self._options = options

    @property
    def model(self) -> Any:
        if self._model is None:
            from vlmcult.registry import load_model

            self._model = load_model(self.spec, **self._options)
        return self._model

    def generate(self, requests: list[Request]) -> list[str | Exception]:
        return self.model.generate(requests)


def as_judge(judge: Judge | str | Any, spec: str | None = None) -> Judge:
    """A Judge from a spec string, a Judge, or any object with `generate` (then `spec` names it)."""
    if isinstance(judge, Judge):
        return judge
    if isinstance(judge, str):
        return Judge(judge)
    return Judge(spec or getattr(judge, "spec", None) or type(judge).__name__, model=judge)


def _image_digest(image: Any) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return hashlib.sha256(buffer.getvalue()).hexdigest()[:16]


def cache_key(spec: str, prompt_version: str, request: Request) -> str:
    parts = [spec, prompt_version, request.system or ""]
    for part in request.parts:
        parts.append(part if isinstance(part, str) else f"<image:{_image_digest(part)}>")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class JudgeCache:
    """Append-only JSONL of judge calls, keyed by `cache_key`; the last entry of a key wins."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path is not None and self.path.is_file():
            with self.path.open(encoding="utf-8") as handle:
                for line in handle:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut by a crash: that call is simply made again
                    self.entries[entry["key"]] = entry

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def add(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self.entries[entry["key"]] = entry
        if self.path is None or not entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            for entry in entries:
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


@dataclass
class Verdict:
    """What a parser reads from a judge's output: the rating (None if absent) and the rationale."""

    rating: float | None
    rationale: str


def run_judge(
    judge: Judge,
    prompt_version: str,
    item_ids: Sequence[str],
    requests: Sequence[Request],
    parse: Callable[[str], Verdict],
    cache: JudgeCache | None = None,
) -> list[dict[str, Any]]:
    """Judge each request once (cached calls are read back); one entry per request.

    An entry has `judge`, `prompt_version`, `id`, `output`, `rationale`, `rating` (None when the
    output had no rating), `error` (a failed call; not cached, so it is retried next time) and `cached`.
    """
    cache = cache if cache is not None else JudgeCache(None)
    keys = [cache_key(judge.spec, prompt_version, request) for request in requests]
    results: list[dict[str, Any] | None] = []
    todo: list[int] = []
    for index, key in enumerate(keys):
        hit = cache.get(key)
        if hit is not None:
            results.append({**hit, "cached": True})
        else:
            results.append(None)
            todo.append(index)
    if todo:
        outputs = judge.generate([requests[i] for i in todo])
        new_entries = []
        for index, output in zip(todo, outputs):
            base = {"key": keys[index], "id": item_ids[index], "judge": judge.spec, "prompt_version": prompt_version}
            if isinstance(output, Exception):
                results[index] = {
                    **base,
                    "output": None,
                    "rationale": None,
                    "rating": None,
                    "error": f"judge call failed: {type(output).__name__}: {output}".splitlines()[0],
                    "cached": False,
                }
                continue
            verdict = parse(output)
            entry = {
                **base,
                "prompt": requests[index].text,
                "output": output,
                "rationale": verdict.rationale,
                "rating": verdict.rating,
                "error": None,
            }
            new_entries.append(entry)
            results[index] = {**entry, "cached": False}
        cache.add(new_entries)
    unrated = sum(1 for r in results if r is not None and r["rating"] is None)
    if unrated:
        log.warning("judge %s gave no rating for %d of %d items: they are unscored", judge.spec, unrated, len(results))
    return [r for r in results if r is not None]


def cache_for(run_dir: Path | None) -> JudgeCache:
    """The judge cache of a run directory (in memory only when there is none)."""
    return JudgeCache(Path(run_dir) / "judge_cache.jsonl" if run_dir is not None else None)


# -- GIMMICK's optional LMM judge ----------------------------------------------------------------
# floschne/gimmick src/gimmick/eval/llava_critic_judge.py@be2d16b (LLaVA-Critic prompt; the image
# goes first, then this text), parsed with `Score: \[(\d{1,3})\]`, and
# src/gimmick/eval/metrics.py `compute_score_accuracy` thresholds.
GIMMICK_JUDGE_PROMPT_VERSION = "gimmick-llava-critic-v1"
GIMMICK_JUDGE_TEMPLATE = (
    "Given an image, a corresponding question, and the ground truth answer, please serve as an "
    "unbiased and fair judge to evaluate the quality of the answers provided by a Large Multimodal Model (LMM). "
    "Score the response out of 100 and explain your reasoning with specific details. "
    "Your task is provided as follows:\n"
    "Question: [{QUESTION}]\n"
    "Ground Truth: [{GROUND_TRUTH}]\n"
    "The LMM response: [{RESPONSE}]\n"
    "ASSISTANT:\n"
)
GIMMICK_JUDGE_THRESHOLDS: tuple[int, ...] = (100, 95, 90, 75, 50, 25)
GIMMICK_JUDGE_METRICS: tuple[str, ...] = tuple(f"judge_correct_{t}" for t in GIMMICK_JUDGE_THRESHOLDS)
_GIMMICK_SCORE = re.compile(r"Score: \[(\d{1,3})\]")


def gimmick_judge_request(images: Sequence[Any], question: str, ground_truth: str, response: str) -> Request:
    text = GIMMICK_JUDGE_TEMPLATE.format(QUESTION=question, GROUND_TRUTH=ground_truth, RESPONSE=response)
    return Request(parts=[*images, text], max_new_tokens=512)


def parse_gimmick_judge(output: str) -> Verdict:
    """The first `Score: [N]`. The official code returns -100000 when there is none (a miss at
    every threshold); here the item is unscored instead and counted, as vlmcult does for all judges."""
    match = _GIMMICK_SCORE.search(output)
    return Verdict(rating=float(match.group(1)) if match else None, rationale=output.strip())


def gimmick_judge_scores(rating: float | None) -> dict[str, float | None]:
    """`judge_correct_T` = 1 if the 0-100 rating is >= T; the mean over items is the official fraction."""
    return {f"judge_correct_{t}": (None if rating is None else float(rating >= t)) for t in GIMMICK_JUDGE_THRESHOLDS}
