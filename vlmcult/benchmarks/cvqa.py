"""CVQA: culturally diverse multilingual VQA (Romero et al., NeurIPS 2024 D&B, arXiv 2406.05967).

Data: HF `afaji/cvqa` (split `test`, parquet shards `data/test-*`) or a local parquet file/folder in
its schema: `image` (embedded bytes), `ID`, `Subset` (repr of a (language, country) tuple),
`Question`, `Translated Question`, `Options`, `Translated Options` (4 strings each), `Label`
(int; -1 in every public row: labels are hidden), `Category`.

The public labels are hidden, so a run writes `submission.csv` (`ID,Prediction`, option index 0-3,
-1 for an unparsed output) for the EvalAI server (challenge 2305). Gold labels from elsewhere come
with `--labels FILE` (CSV `ID,Label`).

No official evaluation code was published. Choices, each a named variant:
* `prompt=vlmevalkit` (default): the prompt of VLMEvalKit's CVQA_EN / CVQA_LOC datasets
  (open-compass/VLMEvalKit@e8e78f0 `ImageMCQDataset.build_prompt`); `prompt=lmms`: the community
  lmms-eval port's prompt.
* `lang=en` asks the Translated Question/Options, `lang=local` the native ones.
* `order=circular` asks each question four times with the options rotated; it is right only when
  right every time (the CircularEval idea of MMBench). The submission then uses the unrotated answer.
Parsing is deliberately strict: a letter in a clear answer form, or the exact text of one option
(either language). Anything else is unparsed and wrong; never a random letter.
"""

from __future__ import annotations

import ast
import csv
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlmcult.benchmarks.base import Benchmark, option_letters
from vlmcult.datasource import iter_parquet_rows, parquet_row_count, resolve_files
from vlmcult.errors import DataError
from vlmcult.types import Request, Sample

HUB_ID = "afaji/cvqa"
REQUIRED_COLUMNS = ("image", "ID", "Subset", "Question", "Translated Question", "Options",
                    "Translated Options", "Label", "Category")
LETTERS = option_letters(4)

PROMPTS = {
    # VLMEvalKit ImageMCQDataset.build_prompt as used for CVQA_EN/CVQA_LOC.
    "vlmevalkit": (
        "Question: {question}\nOptions:\n{options}\n"
        "Select the best answer to the above multiple-choice question based on the image. "
        "Respond with only the letter of the correct option (A, B, C, or D).\nThe best answer is: "
    ),
    # Community lmms-eval port (Pangea-style cvqa_doc_to_text).
    "lmms": "Question: {question} \n\n Options: {options} \n\n Answer with the option's letter from the given choices directly.",
}

_ANSWER_FORMS = [
    re.compile(r"^\(?([A-D])\)?$"),                                  # B, (B)
    re.compile(r"^\(?([A-D])(?:\)|\.|:|\])(?:\s|$)"),                 # B. text, (B) text, B) text, B: text
    # "Answer: B", "The answer is (C)." (the keyword in any case; the letter upper-case only)
    re.compile(r"\b(?i:answer|option|choice)\s*(?i:is)?\s*:?\s*\(?([A-D])\)?(?:[\s.,:;)]|$)"),
]


def parse_subset(subset: Any) -> tuple[str, str]:
    """"('Chinese', 'China')" -> ('Chinese', 'China')."""
    if isinstance(subset, (list, tuple)) and len(subset) == 2:
        return str(subset[0]), str(subset[1])
    try:
        value = ast.literal_eval(str(subset))
        if isinstance(value, tuple) and len(value) == 2:
            return str(value[0]), str(value[1])
    except (ValueError, SyntaxError):
        pass
    raise DataError(f"Subset {subset!r} is not a (language, country) pair")


def parse_options(options: Any) -> list[str]:
    """Options as a list; also accepts the repr strings pandas/numpy write (`['7' '3' '9' '5']`)."""
    if isinstance(options, (list, tuple)):
        return [str(o) for o in options]
    if hasattr(options, "tolist"):
        return [str(o) for o in options.tolist()]
    text = str(options)
    # Quoted items one by one: numpy's repr has no commas, so literal_eval would glue them together.
    found = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", text)
    if found:
        return [a or b for a, b in found]
    raise DataError(f"Options {text[:60]!r} is not a list of strings")


def _normalise_text(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().strip(".。").strip().casefold()


def parse_choice(output: str, options_by_language: list[list[str]]) -> int | None:
    """A model's answer -> option index 0-3, or None when it is not a clear answer."""
    text = unicodedata.normalize("NFKC", output or "").strip()  # NFKC maps full-width Ｂ to B
    text = text.strip("*`\"' ").strip()
    for pattern in _ANSWER_FORMS:
        match = pattern.search(text)
        if match:
            return LETTERS.index(match.group(1))
    wanted = _normalise_text(text)
    for options in options_by_language:
        for index, option in enumerate(options):
            if wanted and wanted == _normalise_text(option):
                return index
    return None


def format_options(options: list[str]) -> str:
    """'A. first\nB. second...' as both prompts list the options."""
    return "\n".join(f"{letter}. {option}" for letter, option in zip(LETTERS, options))


def read_labels_csv(path: Path) -> dict[str, int]:
    """CSV with `ID,Label` (0-3) -> {ID: label}."""
    if not path.is_file():
        raise DataError(f"labels file not found: {path}")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "ID" not in reader.fieldnames or "Label" not in reader.fieldnames:
                raise DataError(f"{path} needs the CSV columns ID,Label")
            labels = {}
            for number, row in enumerate(reader, start=2):
                try:
                    label = int(row["Label"])
                except (TypeError, ValueError):
                    raise DataError(f"{path}: line {number} has Label {row['Label']!r}, not 0-3") from None
                if label not in range(4):
                    raise DataError(f"{path}: line {number} has Label {label}, not 0-3")
                labels[row["ID"]] = label
            if not labels:
                raise DataError(f"{path} holds no labels (only a header)")
            return labels
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8") from None


class CVQA(Benchmark):
    """CVQA: 4-way multiple-choice cultural VQA in 31 languages (accuracy; labels hidden, EvalAI submission)."""

    name = "cvqa"
    version = "1"
    variants = {"lang": ("en", "local"), "order": ("fixed", "circular"), "prompt": ("vlmevalkit", "lmms")}
    metrics = ("accuracy",)
    group_keys = ("country", "language", "category")
    multiple_choice = True
    default_source = HUB_ID
    source_help = "HF afaji/cvqa or a local parquet file/folder in its schema"
    default_max_new_tokens = 16

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._labels = read_labels_csv(self.labels) if self.labels is not None else None

    def _files(self) -> list[Path]:
        return resolve_files(self.source, [".parquet"], ["data/*.parquet", "*.parquet"], what="CVQA data")

    def count(self) -> int | None:
        return parquet_row_count(self._files())

    def load(self) -> Iterator[Sample]:
        for row in iter_parquet_rows(self._files(), REQUIRED_COLUMNS):
            language, country = parse_subset(row["Subset"])
            label = row["Label"]
            if self._labels is not None:
                label = self._labels.get(str(row["ID"]), -1)
            target = int(label) if label is not None and int(label) in range(4) else None
            yield Sample(
                id=str(row["ID"]),
                image=row["image"],
                fields={
                    "question_en": row["Translated Question"], "question_local": row["Question"],
                    "options_en": parse_options(row["Translated Options"]),
                    "options_local": parse_options(row["Options"]),
                },
                target=target,
                groups={"country": country, "language": language, "category": row["Category"]},
            )

    def _rotations(self) -> list[int]:
        return [0, 1, 2, 3] if self.variant["order"] == "circular" else [0]

    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        lang = self.variant["lang"]
        question, options = sample.fields[f"question_{lang}"], sample.fields[f"options_{lang}"]
        if len(options) != 4:
            raise DataError(f"sample {sample.id} has {len(options)} options, expected 4")
        requests = []
        for shift in self._rotations():
            rotated = options[shift:] + options[:shift]
            prompt = PROMPTS[self.variant["prompt"]].format(
                question=question, options=format_options(rotated))
            requests.append(Request(parts=[image, prompt], max_new_tokens=self.max_new_tokens,
                                    choices=rotated, choice_labels=LETTERS))
        return requests

    def parse(self, sample: Sample, outputs: list[str]) -> list[int | None]:
        """One original option index (or None) per rotation."""
        parsed = []
        for shift, output in zip(self._rotations(), outputs):
            languages = [sample.fields["options_en"], sample.fields["options_local"]]
            rotated = [opts[shift:] + opts[:shift] for opts in languages]
            index = parse_choice(output, rotated)
            parsed.append(None if index is None else (index + shift) % 4)
        return parsed

    def score(self, sample: Sample, parsed: list[int | None]) -> dict[str, float | None]:
        if sample.target is None:
            return {"accuracy": None}
        return {"accuracy": float(all(p == sample.target for p in parsed))}

    def write_submission(self, records: list[dict[str, Any]], run_dir: Path) -> Path:
        path = run_dir / "submission.csv"
        lines = ["ID,Prediction"]
        for record in records:
            parsed = record.get("parsed") or [None]
            first = parsed[0] if isinstance(parsed, list) else parsed
            lines.append(f"{record['id']},{-1 if first is None else int(first)}")
        from vlmcult.store import atomic_write_text

        atomic_write_text(path, "\n".join(lines) + "\n")
        return path
