"""LAVE (LLM-assisted VQA evaluation), CulturalVQA's metric, as mair-lab/lave defines it.

Source: mair-lab/lave lave.py (`LaveICLBase`) and lave_ft5.py @253640b (Mañas et al., AAAI 2024):
* task definition without caption, rationale before rating (`rationalize=True`), the
  binary-question rule;
* each example `Question: '{q}'\\nReference answers: {refs}\\nCandidate answer: '{pred}'\\nOutput: {out}`,
  demo outputs `"{explanation} So rating={1|2|3}"`;
* 8 shots, the first 8 of `lave_demos.json`, or of `lave_demos_binary.json` when the most common
  reference (lower-cased, trailing "." removed) is yes/no;
* references formatted `', '.join(f"'{r}'" for r in sorted(refs))`; for the item (not the demos)
  references whose count is <= 25% of the most common one's are dropped first;
* the prompt is stripped (so it ends in "Output:"); score = (rating - 1) / 2.

Rating parse: the last `rating=N` (N in 1-3) in the judge's output; failing that, a final lone
1/2/3 (what lave_ft5 reads, the last token). lave_ft5 turns anything else into 2; vlmcult records
such an item as unscored instead and counts it, so a judge that does not follow the format is
visible rather than silently scored 0.5.

The demo files have no licence, so they are not shipped: pass `--lave-demos PATH` (a folder with
both files, or `lave_demos.json` with `lave_demos_binary.json` beside it), or let vlmcult fetch them
from the official repository at the pinned commit when online.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmcult.errors import ConfigError
from vlmcult.judges import Judge, JudgeCache, Verdict, as_judge, run_judge
from vlmcult.types import Request

LAVE_COMMIT = "253640bfb7c328a507cb8bd0f34e17146ec3161a"
LAVE_DEMOS_URL = f"https://raw.githubusercontent.com/mair-lab/lave/{LAVE_COMMIT}/data/{{name}}"
DEMO_FILES = ("lave_demos.json", "lave_demos_binary.json")
PROMPT_VERSION = f"lave-icl-{LAVE_COMMIT[:7]}-8shot"
NUM_SHOTS = 8
MAX_NEW_TOKENS = 100  # lave_ft5 generate(max_new_tokens=100)

TASK_DEFINITION = (
    "You are given a question, a set of gold-standard reference answers written by experts, and a candidate answer. "
    "Please rate the accuracy of the candidate answer for the question considering the reference answers."
    " Use a scale of 1-3, with 1 indicating an incorrect or irrelevant answer, 2 indicating an ambiguous or "
    "incomplete answer, and 3 indicating a correct answer."
    " Give the rationale before rating."
    "\n\nTHIS IS VERY IMPORTANT: A binary question should only be answered with 'yes' or 'no', otherwise the "
    "candidate answer is incorrect (rating=1)."
)
EXAMPLE_TEMPLATE = (
    "Question: '{question}'\nReference answers: {references}\nCandidate answer: '{prediction}'\nOutput: {output}"
)

_RATING = re.compile(r"rating\s*=\s*([123])\b", re.IGNORECASE)
_FINAL_DIGIT = re.compile(r"(?:^|\s)([123])\s*\.?\s*$")


@dataclass
class LaveDemos:
    """The two official demo lists (each a list of dicts with question, references, prediction, output, explanation)."""

    demos: list[dict[str, Any]]
    binary_demos: list[dict[str, Any]]


def filter_references(references: Sequence[str], p: float = 0.25) -> list[str]:
    """Drop references whose count is <= p times the most common reference's count."""
    counts = Counter(references)
    most = max(counts.values())
    outliers = {ref for ref, count in counts.items() if count / most <= p}
    return [ref for ref in references if ref not in outliers]


def format_references(references: Sequence[str], filter_refs: bool = True) -> str:
    if filter_refs:
        references = filter_references(references)
    return ", ".join(f"'{ref}'" for ref in sorted(references))


def is_binary_question(references: Sequence[str]) -> bool:
    return Counter(references).most_common(1)[0][0].lower().rstrip(".") in ("yes", "no")


def build_prompt(
    question: str, references: Sequence[str], prediction: str, demos: LaveDemos, num_shots: int = NUM_SHOTS
) -> str:
    """The exact LAVE in-context prompt for one item."""
    if not references:
        raise ConfigError("LAVE needs at least one reference answer per question")
    prompt = TASK_DEFINITION + "\n\n"
    if num_shots:
        shots = demos.binary_demos if is_binary_question(references) else demos.demos
        for demo in shots[:num_shots]:
            prompt += (
                EXAMPLE_TEMPLATE.format(
                    question=demo["question"],
                    references=format_references(demo["references"], filter_refs=False),
                    prediction=demo["prediction"],
                    output=f"{demo['explanation']} So rating={demo['output']}",
                )
                + "\n\n"
            )
    prompt += EXAMPLE_TEMPLATE.format(
        question=question, references=format_references(references), prediction=prediction, output=""
    )
    return prompt.strip()


def parse_rating(output: str) -> Verdict:
    """Rating 1-3 from a judge output (None if there is none) and the rationale before it."""
    matches = list(_RATING.finditer(output))
    if matches:
        last = matches[-1]
        rationale = output[: last.start()].strip()
        rationale = re.sub(r"\s*So\s*$", "", rationale)
        return Verdict(rating=float(last.group(1)), rationale=rationale)
    final = _FINAL_DIGIT.search(output)
    if final:
        return Verdict(rating=float(final.group(1)), rationale=output[: final.start()].strip())
    return Verdict(rating=None, rationale=output.strip())


def rating_to_score(rating: float | None) -> float | None:
    return None if rating is None else (rating - 1.0) / 2.0


def load_demos(path: str | Path | None = None, cache_dir: str | Path | None = None) -> LaveDemos:
    """Read the demo files from `path`, or fetch the official ones (pinned commit) when none is given."""
    if path is not None:
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        files = [folder / name for name in DEMO_FILES] if path.is_dir() else [path, folder / DEMO_FILES[1]]
        for file in files:
            if not file.is_file():
                raise ConfigError(
                    f"LAVE demo file not found: {file} (--lave-demos takes a folder with {' and '.join(DEMO_FILES)})"
                )
        return LaveDemos(_read_demo_file(files[0]), _read_demo_file(files[1]))
    cache = Path(cache_dir) if cache_dir is not None else Path.home() / ".cache" / "vlmcult" / "lave" / LAVE_COMMIT[:7]
    for name in DEMO_FILES:
        target = cache / name
        if target.is_file():
            continue
        try:
            with urllib.request.urlopen(LAVE_DEMOS_URL.format(name=name), timeout=20) as response:
                data = response.read()
            json.loads(data)
        except Exception:
            raise ConfigError(
                "the LAVE demo files cannot be downloaded (offline?): pass --lave-demos PATH to a folder with"
                f" {' and '.join(DEMO_FILES)} from github.com/mair-lab/lave/tree/{LAVE_COMMIT[:7]}/data"
            ) from None
        cache.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return LaveDemos(_read_demo_file(cache / DEMO_FILES[0]), _read_demo_file(cache / DEMO_FILES[1]))


def _read_demo_file(path: Path) -> list[dict[str, Any]]:
    try:
        demos = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"LAVE demo file {path} is not valid JSON: {exc}".splitlines()[0]) from None
    needed = {"question", "references", "prediction", "output", "explanation"}
    if not isinstance(demos, list) or not all(isinstance(d, dict) and needed <= d.keys() for d in demos):
        raise ConfigError(f"LAVE demo file {path} is not a list of objects with {', '.join(sorted(needed))}")
    return demos


def lave_score_batch(
    judge: Judge | str | Any,
    questions: Sequence[str],
    references_lists: Sequence[Sequence[str]],
    predictions: Sequence[str | None],
    demos: LaveDemos,
    cache: JudgeCache | None = None,
    ids: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """LAVE for a batch: one dict per item with `rating` (1-3 or None), `score` ((rating-1)/2 or None),
    `rationale`, `judge`, `prompt_version`, `cached` and `error`. Cached ratings are read back."""
    judge = as_judge(judge)
    ids = list(ids) if ids is not None else [str(i) for i in range(len(questions))]
    requests = [
        Request(parts=[build_prompt(q, refs, "" if pred is None else pred, demos)], max_new_tokens=MAX_NEW_TOKENS)
        for q, refs, pred in zip(questions, references_lists, predictions)
    ]
    entries = run_judge(judge, PROMPT_VERSION, ids, requests, parse_rating, cache)
    return [
        {
            "rating": entry["rating"],
            "score": rating_to_score(entry["rating"]),
            "rationale": entry["rationale"],
            "judge": entry["judge"],
            "prompt_version": entry["prompt_version"],
            "cached": entry["cached"],
            "error": entry.get("error"),
        }
        for entry in entries
    ]


def lave_for_culturalvqa(benchmark: Any, samples: Sequence[Any], parsed: Sequence[Any]) -> list[float | None]:
    """LAVE scores for CulturalVQA.score_batch: uses the benchmark's `judge` and `lave_demos` options and
    keeps the judge cache in its run directory. Items without references score None."""
    from vlmcult.judges import cache_for

    state = benchmark.__dict__.setdefault("_lave_state", {})
    if "judge" not in state:
        state["judge"] = Judge(benchmark.options["judge"])
        state["demos"] = load_demos(benchmark.options.get("lave_demos"))
    scored = [i for i, sample in enumerate(samples) if sample.target]
    results = lave_score_batch(
        state["judge"],
        [samples[i].fields["question"] for i in scored],
        [list(samples[i].target) for i in scored],
        [parsed[i] if isinstance(parsed[i], str) else "" for i in scored],
        state["demos"],
        cache_for(benchmark.run_dir),
        ids=[samples[i].id for i in scored],
    )
    values: list[float | None] = [None] * len(samples)
    for i, result in zip(scored, results):
        values[i] = result["score"]
    return values
