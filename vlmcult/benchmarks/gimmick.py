"""GIMMICK (Schneider, Holtermann, Biemann, Lauscher; arXiv 2502.13766, ACL 2025 Findings).

Official code: floschne/gimmick @be2d16b (`src/gimmick/tasks/*.py`, `src/gimmick/eval/*.py`).

Data: HF `floschne/gimmick-sivqa`, `floschne/gimmick-coqa` (COQA and CKT) and `floschne/gimmick-vvqa`
(split `test`), or local parquet (JSONL also for VVQA) with the official columns:
* sivqa: `question_id`, `question`, `answer`, `countries` (list), `regions` (list), `ich_image` (image);
  `title`, `description` optional.
* coqa: `sample_uuid`, `title`, `description`, `countries`, `regions`, `images` (list of images),
  `stacked_images` (one grid image of the sample's images, made by the official `stack_images`;
  read only with `images=stacked`, and then `images` is not needed).
* vvqa: `question_id`, `question`, `answer`, `countries`, `regions`, `video_fn` (a local video file;
  relative paths are resolved against the data file's folder), `video_center_frame_sim` (rows
  below 0.5 are dropped, as officially).

Tasks:
* `gimmick-sivqa` / `gimmick-vvqa`: prompt `"{QUESTION}\\n{HINTS}\\nAnswer with a single word or phrase."`,
  variant `hints=none|regions|countries|both` (the official four settings), `input=image|text` for
  sivqa (the official text-only ablation). Metrics: the official un-normalised `exact_match`,
  `relaxed_match`, `very_relaxed_match` and their `*_nonempty` versions (vlmcult.metrics.matching).
  VVQA shows the model frames sampled from the video with PyAV: `frames=1` (default) is the center
  frame; `frames=N` takes the center frame of each of N equal segments. (The official code hands the
  whole video to video-capable models; image-only models need frames, so this is our choice.)
* `gimmick-coqa`: cultural-origin multiple choice, `target=regions|countries`, `input=image|text|both`
  (images only; title only; images and title). Countries' distractors come from the sample's own
  regions ("hard distractors", the official default). Rows are exploded into one item per true
  region/country, and samples with more than 3 regions are dropped for `target=regions`, as officially.
  Options: 3 distractors drawn with `random.sample` then shuffled with `random.shuffle`, from one
  `random.Random(1312)` consumed in dataset order, as `generate_multiple_choice_options` does after
  `seed_everything(1312)`. The official pool is `list(set(...))`, whose order depends on
  PYTHONHASHSEED, so its draws cannot be reproduced bit for bit; we sort the pool, which makes ours
  deterministic. Prompt (`coqa.py` `_build_prompt_and_gt_for_sample`):
  `"{IMAGE_PLACEHOLDERS}\\n{TASK_PROMPT}\\n\\n{OPTIONS}\\n\\nYour answer letter: "`, stripped. Metrics:
  `accuracy` (the first option letter found in the output, see `parse_letter`) and the official
  match metrics of the raw output against the letter.
* `gimmick-ckt`: the cultural knowledge test, `task=describe-images-title|describe-images|describe-title|name-images`,
  prompt `"{TASK_PROMPT}\\n\\n{IMAGE_PLACEHOLDERS}\\n\\nYour answer: "` (`ckt.py` `_build_prompt`, not
  stripped), BERTScore against `description` (package bert-score; the official `evaluate` call with
  `lang="en"` means roberta-large, layer 17; `bert_model=PATH`/`bert_layers=N` point at a local model).
  Metrics `bert_score_f1`, `_precision`, `_recall`.
* COQA and CKT prompts as the model gets them (read at floschne/gimmick@81c06a5, the copy of the
  repository we could read; the module was written against be2d16b):
  - `IMAGE_PLACEHOLDERS` is `"\\n".join(["<image_placeholder>"] * len(payload))` (one token per image
    sent; empty without images), and the model wrappers put each image where its token is
    (`utils/image.py` `split_prompt_by_image_tokens`, e.g. `models/qwen2_vl.py`: the text pieces between
    tokens are kept, empty ones dropped). We build the same string and split it the same way, so the
    newlines between images are text parts of the request.
  - `task.py` `build_sample_base` then applies `apply_gimmick_prompt_template` with no hints and no
    answer hint (`"{QUESTION}\\n{HINTS}\\n"`), so the final prompt ends with two extra newlines.
  - `images=all|stacked` is the official `use_stacked_images` (default off): `all` sends every image of
    the sample's `images` column; `stacked` sends its one `stacked_images` grid with one placeholder
    (`get_sample_payload` returns `sample["stacked_images"]`, the task type becomes SINGLE_IMAGE_QA, and
    the model wrappers wrap a lone image in a list). Combined with a text-only setting (COQA
    `input=text`, CKT `task=describe-title`) it is refused, as officially. At 81c06a5 the official
    stacked setting cannot run as written: the prompt builder calls `len()` on the payload, which for
    `stacked_images` is one decoded PIL image (no `len`); we follow its evident intent (one image,
    one placeholder). A missing `stacked_images` column is a one-line error; an empty cell is an
    error for that item.
  - The judge's question is the full prompt string (`lmm_judge.py` passes `sample["prompt"]`),
    placeholder tokens included.
  - Officially an exploded COQA row keeps its `sample_uuid` as `sample_id`, and the resume check
    (`response.py` `is_sample_in_model_responses`, keyed on sample id, task and hints) then skips every
    target after a sample's first, so only one target per sample is answered and `evaluate_results`
    zips samples with fewer responses. We answer every target (ids `{uuid}-{target}`), as the
    explode step intends.

Optional judge (`--judge SPEC`, all four tasks): the official LLaVA-Critic 0-100 prompt with the
image(s) (`Score: [N]`), reported as `judge_correct_{100,95,90,75,50,25}` (share of items with a score
>= T). An output without a score is unscored (the official code gives -100000). Every call is cached
in `<run_dir>/judge_cache.jsonl` with the judge spec, prompt version, rationale and rating.

Groups: `region` (a sample counts in each of its regions) and `country` (likewise).
Generation: greedy, up to 512 new tokens (official `baseline_model.py`).
"""

from __future__ import annotations

import logging
import random
import re
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlmcult.benchmarks.base import Benchmark
from vlmcult.datasource import (
    iter_jsonl,
    iter_parquet_rows,
    parquet_row_count,
    resolve_files,
)
from vlmcult.errors import ConfigError, DataError
from vlmcult.judges import (
    GIMMICK_JUDGE_METRICS,
    GIMMICK_JUDGE_PROMPT_VERSION,
    Judge,
    cache_for,
    gimmick_judge_request,
    gimmick_judge_scores,
    parse_gimmick_judge,
    run_judge,
)
from vlmcult.metrics.matching import MATCH_METRICS, NONEMPTY_METRICS, match_scores
from vlmcult.types import Request, Sample

log = logging.getLogger(__name__)

SEED = 1312
MAX_NEW_TOKENS = 512
MIN_CENTER_FRAME_SIMILARITY = 0.5

# floschne/gimmick src/gimmick/utils/ich.py@be2d16b ICH_REGIONS_TO_COUNTRIES, verbatim (the duplicate
# "Korea" included: it changes the official distractor-count check).
ICH_REGIONS_TO_COUNTRIES: dict[str, list[str]] = {
    "Arab States": [
        "Algeria",
        "Tunisia",
        "Saudi Arabia",
        "Yemen",
        "Syria",
        "Egypt",
        "Bahrain",
        "Qatar",
        "Palestine",
        "Sudan",
        "Mauritania",
        "Morocco",
        "Lebanon",
        "Kuwait",
        "Jordan",
        "Iraq",
        "Oman",
        "United Arab Emirates",
    ],
    "Asian and Pacific States": [
        "Afghanistan",
        "Papua New Guinea",
        "Philippines",
        "Timor-Leste",
        "Samoa",
        "Sri Lanka",
        "Bhutan",
        "Kazakhstan",
        "China",
        "Korea",
        "Bangladesh",
        "Cambodia",
        "Cook Islands",
        "Korea",
        "Pakistan",
        "Australia",
        "Tonga",
        "Thailand",
        "Nepal",
        "New Zealand",
        "Fiji",
        "India",
        "Indonesia",
        "Japan",
        "Singapore",
        "Vietnam",
        "Kyrgyzstan",
        "Iran",
        "Lao",
        "Vanuatu",
        "Malaysia",
        "Turkmenistan",
        "Micronesia",
        "Mongolia",
        "Myanmar",
    ],
    "Eastern European States": [
        "Bosnia and Herzegovina",
        "Uzbekistan",
        "Lithuania",
        "Hungary",
        "Croatia",
        "Serbia",
        "Estonia",
        "Georgia",
        "Ukraine",
        "Moldova",
        "Montenegro",
        "Albania",
        "Bulgaria",
        "Slovakia",
        "Poland",
        "Armenia",
        "Belarus",
        "Tajikistan",
        "Azerbaijan",
        "Czechia",
        "Latvia",
        "North Macedonia",
        "Russia",
        "Romania",
        "Slovenia",
    ],
    "Latin-American and Caribbean States": [
        "Argentina",
        "Jamaica",
        "Guatemala",
        "Colombia",
        "Grenada",
        "Saint Vincent and the Grenadines",
        "Curaçao",
        "Chile",
        "Bolivia",
        "Uruguay",
        "Bahamas",
        "Venezuela",
        "Antigua and Barbuda",
        "Haiti",
        "Brazil",
        "Saint Kitts and Nevis",
        "Honduras",
        "Ecuador",
        "El Salvador",
        "Mexico",
        "Dominican Republic",
        "Costa Rica",
        "Paraguay",
        "Panama",
        "Nicaragua",
        "Belize",
        "Cuba",
        "Peru",
    ],
    "Subsaharian African States": [
        "Lesotho",
        "Nigeria",
        "Cameroon",
        "Madagascar",
        "Malawi",
        "Guinea",
        "Ethiopia",
        "Niger",
        "Mauritius",
        "Mali",
        "Djibouti",
        "Côte d'Ivoire",
        "Botswana",
        "Cabo Verde",
        "Eritrea",
        "Burundi",
        "Burkina Faso",
        "Namibia",
        "Central African Republic",
        "Democratic Republic of the Congo",
        "Zimbabwe",
        "Kenya",
        "Angola",
        "Seychelles",
        "Senegal",
        "Togo",
        "Chad",
        "Zambia",
        "Rwanda",
        "Benin",
        "South Africa",
        "Eswatini",
        "Mozambique",
        "South Sudan",
        "Congo",
        "Ghana",
        "Gambia",
        "Gabon",
        "Somalia",
        "Uganda",
    ],
    "Western European and North American States": [
        "Sweden",
        "Canada",
        "Luxembourg",
        "United Kingdom of Great Britain and Northern Ireland",
        "Netherlands",
        "Portugal",
        "Belgium",
        "Switzerland",
        "Malta",
        "Cyprus",
        "France",
        "Iceland",
        "Ireland",
        "Norway",
        "Finland",
        "Spain",
        "Andorra",
        "Türkiye",
        "Denmark",
        "Germany",
        "Greece",
        "Italy",
        "Austria",
    ],
}

# src/gimmick/tasks/task.py apply_gimmick_prompt_template
VQA_TEMPLATE = "{QUESTION}\n{HINTS}\nAnswer with a single word or phrase."
REGIONS_HINT = "Hint: The task is related to a cultural event or facet from the following region(s): {regions}\n"
COUNTRIES_HINT = (
    "Hint: The task is related to a cultural event or facet from the following country or countries: {countries}\n"
)


def vqa_prompt(question: str, regions: list[str], countries: list[str], hints: str) -> str:
    """The official sivqa/vvqa prompt for a hint setting (none, regions, countries, both)."""
    text = ""
    if hints in ("regions", "both"):
        text += REGIONS_HINT.format(regions=", ".join(regions))
    if hints in ("countries", "both"):
        text += COUNTRIES_HINT.format(countries=", ".join(countries))
    return VQA_TEMPLATE.format(QUESTION=question, HINTS=text)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _read_rows(files: list[Path], required: tuple[str, ...]) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in files:
        if path.name.endswith(".jsonl"):
            for number, row in enumerate(iter_jsonl(path), start=1):
                missing = [key for key in required if key not in row]
                if missing:
                    raise DataError(f"{path}: line {number} lacks the field {missing[0]!r}")
                yield path, row
        else:
            for row in iter_parquet_rows([path], required):
                yield path, row


class _GimmickBase(Benchmark):
    default_max_new_tokens = MAX_NEW_TOKENS
    group_keys = ("region", "country")
    hub_patterns: tuple[str, ...] = ("*.parquet", "data/*.parquet", "**/*.parquet")
    suffixes: tuple[str, ...] = (".parquet",)
    required: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.judge_spec: str | None = self.options.get("judge")
        if self.judge_spec:
            self.metrics = type(self).metrics + GIMMICK_JUDGE_METRICS
        self._judge: Judge | None = None

    def _files(self) -> list[Path]:
        return resolve_files(self.source, list(self.suffixes), list(self.hub_patterns), what=f"{self.name} data")

    def count(self) -> int | None:
        files = self._files()
        if all(path.name.endswith(".parquet") for path in files) and self.name in ("gimmick-sivqa", "gimmick-ckt"):
            return parquet_row_count(files)
        return None

    def _groups(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"region": _as_list(row.get("regions")), "country": _as_list(row.get("countries"))}

    # -- the optional 0-100 judge -----------------------------------------------------------------
    @abstractmethod
    def _judge_question(self, sample: Sample, n_images: int) -> str:
        """The question the judge sees: officially the task's full `sample["prompt"]`."""

    def _judge_truth(self, sample: Sample) -> str:
        return str(sample.target)

    def _add_judge_scores(
        self, samples: list[Sample], parsed: list[Any], scores: list[dict[str, float | None]]
    ) -> None:
        if not self.judge_spec:
            return
        if self._judge is None:
            self._judge = Judge(self.judge_spec)
        todo = [i for i, sample in enumerate(samples) if sample.target is not None]
        requests = []
        for i in todo:
            sample = samples[i]
            images = sample.fields.get("_judge_images")
            if images is None:
                images = self._images_for_judge(sample)
            response = parsed[i] if isinstance(parsed[i], str) else (sample.fields.get("_raw_output") or "")
            requests.append(
                gimmick_judge_request(
                    images, self._judge_question(sample, len(images)), self._judge_truth(sample), response
                )
            )
        entries = run_judge(
            self._judge,
            GIMMICK_JUDGE_PROMPT_VERSION,
            [samples[i].id for i in todo],
            requests,
            parse_gimmick_judge,
            cache_for(self.run_dir),
        )
        for i, entry in zip(todo, entries):
            scores[i].update(gimmick_judge_scores(entry["rating"]))
        for i in range(len(samples)):
            for name in GIMMICK_JUDGE_METRICS:
                scores[i].setdefault(name, None)

    def _images_for_judge(self, sample: Sample) -> list[Any]:
        decoded = self.decode(sample)
        if decoded is None:
            return []
        return list(decoded) if isinstance(decoded, list) else [decoded]

    def _remember_images(self, sample: Sample, images: list[Any]) -> None:
        if self.judge_spec:
            sample.fields["_judge_images"] = images

    def score_batch(self, samples: list[Sample], parsed: list[Any]) -> list[dict[str, float | None]]:
        scores = [self.score(sample, value) for sample, value in zip(samples, parsed)]
        self._add_judge_scores(samples, parsed, scores)
        return scores


# -- single-image VQA ------------------------------------------------------------------------------
class GimmickSIVQA(_GimmickBase):
    """GIMMICK single-image cultural VQA with the official hint settings and match metrics."""

    name = "gimmick-sivqa"
    version = "1"
    variants = {"hints": ("none", "regions", "countries", "both"), "input": ("image", "text")}
    metrics = MATCH_METRICS + NONEMPTY_METRICS
    default_source = "floschne/gimmick-sivqa"
    source_help = (
        "HF floschne/gimmick-sivqa or local parquet with question_id, question, answer, countries, regions, ich_image"
    )
    required = ("question_id", "question", "answer", "countries", "regions", "ich_image")

    def load(self) -> Iterator[Sample]:
        for _path, row in _read_rows(self._files(), self.required):
            yield Sample(
                id=str(row["question_id"]),
                image=row["ich_image"] if self.variant["input"] == "image" else None,
                fields={
                    "question": row["question"],
                    "regions": _as_list(row["regions"]),
                    "countries": _as_list(row["countries"]),
                },
                target=row["answer"],
                groups=self._groups(row),
            )

    def prompt(self, sample: Sample) -> str:
        return vqa_prompt(
            sample.fields["question"], sample.fields["regions"], sample.fields["countries"], self.variant["hints"]
        )

    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        images = [] if image is None else [image]
        self._remember_images(sample, images)
        return [Request(parts=[*images, self.prompt(sample)], max_new_tokens=self.max_new_tokens)]

    def parse(self, sample: Sample, outputs: list[str]) -> str:
        return outputs[0]  # officially no normalisation at all

    def score(self, sample: Sample, parsed: str) -> dict[str, float | None]:
        if sample.target is None:
            return {name: None for name in self.metrics}
        return dict(match_scores(parsed, str(sample.target)))

    def _judge_question(self, sample: Sample, n_images: int) -> str:
        return self.prompt(sample)


# -- video VQA -------------------------------------------------------------------------------------
def frame_indices(n_frames: int, n_samples: int) -> list[int]:
    """The center frame of each of `n_samples` equal segments (n_samples=1: the center frame)."""
    if n_frames <= 0:
        return []
    n_samples = min(n_samples, n_frames)
    return [min(n_frames - 1, int((2 * i + 1) * n_frames / (2 * n_samples))) for i in range(n_samples)]


def extract_frames(path: str | Path, n_samples: int = 1) -> list[Any]:
    """Frames of a video file as RGB PIL images (PyAV), at `frame_indices`; DataError if unreadable."""
    import av

    path = Path(path)
    if not path.is_file():
        raise DataError(f"video file not found: {path}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"no video stream in {path}")
            stream = container.streams.video[0]
            n_frames = stream.frames or sum(1 for packet in container.demux(stream) if packet.size)
        wanted = frame_indices(n_frames, n_samples)
        if not wanted:
            raise DataError(f"video has no frames: {path}")
        frames: list[Any] = []
        targets = set(wanted)
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in targets:
                    frames.append(frame.to_image().convert("RGB"))
                if index >= wanted[-1]:
                    break
    except DataError:
        raise
    except Exception as exc:  # PyAV raises many types for a corrupt file
        raise DataError(f"video cannot be decoded: {path}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    if not frames:
        raise DataError(f"no frames could be decoded from {path}")
    return frames


class GimmickVVQA(GimmickSIVQA):
    """GIMMICK video cultural VQA: frames sampled from local video files, official prompt and metrics."""

    name = "gimmick-vvqa"
    variants = {"hints": ("none", "regions", "countries", "both"), "frames": ("1", "2", "4", "8", "16", "32")}
    default_source = "floschne/gimmick-vvqa"
    source_help = (
        "HF floschne/gimmick-vvqa or local parquet/JSONL with question_id, question, answer, countries, "
        "regions, video_fn (local video files)"
    )
    suffixes = (".parquet", ".jsonl")
    hub_patterns = ("*.parquet", "data/*.parquet", "**/*.parquet", "*.jsonl", "**/*.jsonl")
    required = ("question_id", "question", "answer", "countries", "regions", "video_fn")

    def load(self) -> Iterator[Sample]:
        for path, row in _read_rows(self._files(), self.required):
            similarity = row.get("video_center_frame_sim")
            if similarity is not None and float(similarity) < MIN_CENTER_FRAME_SIMILARITY:
                continue
            video = Path(str(row["video_fn"])).expanduser()
            if not video.is_absolute():
                video = path.parent / video
            yield Sample(
                id=str(row["question_id"]),
                image=None,
                fields={
                    "question": row["question"],
                    "regions": _as_list(row["regions"]),
                    "countries": _as_list(row["countries"]),
                    "video": str(video),
                },
                target=row["answer"],
                groups=self._groups(row),
            )

    def decode(self, sample: Sample) -> list[Any]:
        return extract_frames(sample.fields["video"], int(self.variant["frames"]))

    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        frames = list(image)
        self._remember_images(sample, frames)
        return [Request(parts=[*frames, self.prompt(sample)], max_new_tokens=self.max_new_tokens)]


# -- cultural-origin multiple choice -------------------------------------------------------------
_LEADING_LETTER = re.compile(r"^\W*([A-D])(?:[.):\]\s]|$)")
_ANSWER_LETTER = re.compile(r"\b(?:answer|letter|option)\b[^A-Za-z0-9]{0,20}(?:is\s+)?\(?([A-D])\b", re.IGNORECASE)
_LONE_LETTER = re.compile(r"(?<![A-Za-z'])([A-D])(?![A-Za-z'])")


def parse_letter(output: str) -> str | None:
    """The chosen option letter: a leading letter ("B", "B.", "(B)"), else one after "answer"/"letter"/"option",
    else the only capital A-D standing alone in the output; None otherwise."""
    text = (output or "").strip()
    match = _LEADING_LETTER.match(text)
    if match:
        return match.group(1)
    match = _ANSWER_LETTER.search(text)
    if match:
        return match.group(1).upper()
    lone = set(_LONE_LETTER.findall(text))
    return lone.pop() if len(lone) == 1 else None


def multiple_choice_options(
    target: str, valid: list[str], pool: list[str], rng: random.Random
) -> tuple[str, str, list[str]]:
    """GIMMICK `generate_multiple_choice_options`: (options text, gold letter, options in order)."""
    if not valid:
        raise DataError("valid_options list cannot be empty")
    if len(pool) - len(valid) < 3:
        raise DataError("not enough distractors to generate multiple choice options")
    if target not in valid:
        raise DataError(f"target option {target!r} is not among the sample's options")
    for option in valid:
        if option not in pool:
            raise DataError(f"{option!r} is not a GIMMICK region/country name")
    distractors = rng.sample(sorted(set(pool) - set(valid)), 3)
    options = distractors + [target]
    rng.shuffle(options)
    text = "".join(f"{chr(65 + i)}. {option}\n" for i, option in enumerate(options))
    return text, chr(65 + options.index(target)), options


# -- the multi-image tasks (COQA, CKT): official prompt strings with image placeholders ------------------
# src/gimmick/utils/image.py IMAGE_PLACEHOLDER_TOKEN
IMAGE_PLACEHOLDER = "<image_placeholder>"


def image_placeholders(n_images: int) -> str:
    """The official `{IMAGE_PLACEHOLDERS}` text: one token per image sent, joined by newlines."""
    return "\n".join([IMAGE_PLACEHOLDER] * n_images)


def task_template(prompt: str) -> str:
    """`GimmickTask.apply_gimmick_prompt_template` as COQA and CKT call it (no hints, no answer hint):
    `"{QUESTION}\\n{HINTS}\\n"` with empty HINTS, so the task's prompt plus two newlines."""
    return f"{prompt}\n\n"


def prompt_parts(prompt: str, images: list[Any]) -> list[Any]:
    """Request parts for an official prompt string: each placeholder replaced by its image, in order.

    As `split_prompt_by_image_tokens` (src/gimmick/utils/image.py) plus the official model wrappers
    (e.g. src/gimmick/models/qwen2_vl.py): the text between placeholders is kept, empty pieces dropped.
    """
    pieces = prompt.split(IMAGE_PLACEHOLDER)
    if len(pieces) != len(images) + 1:
        raise DataError(f"prompt has {len(pieces) - 1} image placeholders for {len(images)} images")
    parts: list[Any] = []
    for piece, image in zip(pieces, images):
        if piece:
            parts.append(piece)
        parts.append(image)
    if pieces[-1]:
        parts.append(pieces[-1])
    return parts


def _is_empty_image(raw: Any) -> bool:
    if raw is None or (isinstance(raw, (bytes, str)) and not raw):
        return True
    return isinstance(raw, dict) and not raw.get("bytes") and not raw.get("path")


class _MultiImageTask(_GimmickBase):
    """COQA and CKT: a sample's `images` (all of them) or, with `images=stacked`, its one `stacked_images` grid.

    Officially (`use_stacked_images`) the payload is `sample["stacked_images"]` and the task becomes
    SINGLE_IMAGE_QA; `without_images`/`describing_no_images_with_title` together with it is refused.
    """

    base_required: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.stacked and not self.with_images:
            raise ConfigError(
                f"{self.name}: images=stacked needs a variant that shows images "
                f"(not {self._text_only_setting()}); the official code refuses this combination too"
            )
        self.required = self.base_required + (self.image_column,)

    @property
    def stacked(self) -> bool:
        return self.variant["images"] == "stacked"

    @property
    def image_column(self) -> str:
        return "stacked_images" if self.stacked else "images"

    @property
    @abstractmethod
    def with_images(self) -> bool:
        """Whether this variant sends the sample's images."""

    @abstractmethod
    def _text_only_setting(self) -> str:
        """The variant setting that sends no image (named in the stacked-images error)."""

    def decode(self, sample: Sample) -> list[Any]:
        """The images sent with the sample: [] (text only), all of `images`, or the one `stacked_images`."""
        if not self.with_images:
            return []
        from vlmcult.images import decode_image

        raw = sample.image
        if self.stacked:
            if isinstance(raw, (list, tuple)):
                if len(raw) > 1:
                    raise DataError(f"'stacked_images' holds {len(raw)} images; expected one grid image")
                raw = raw[0] if raw else None
            if _is_empty_image(raw):
                raise DataError("the sample's 'stacked_images' is empty (use images=all for its separate images)")
            return [decode_image(raw)]
        items = [] if raw is None else (list(raw) if isinstance(raw, (list, tuple)) else [raw])
        if not items or all(_is_empty_image(item) for item in items):
            raise DataError("the sample's 'images' is empty")
        return [decode_image(item) for item in items]

    def _images(self, image: Any) -> list[Any]:
        if image is None:
            return []
        return list(image) if isinstance(image, list) else [image]


class GimmickCOQA(_MultiImageTask):
    """GIMMICK cultural-origin QA: which region/country does the event shown come from (4 options)."""

    name = "gimmick-coqa"
    version = "2"
    variants = {"target": ("regions", "countries"), "input": ("image", "text", "both"), "images": ("all", "stacked")}
    metrics = ("accuracy",) + MATCH_METRICS + NONEMPTY_METRICS
    multiple_choice = True
    default_source = "floschne/gimmick-coqa"
    source_help = (
        "HF floschne/gimmick-coqa or local parquet with sample_uuid, title, countries, regions, images "
        "(stacked_images for images=stacked)"
    )
    base_required = ("sample_uuid", "title", "countries", "regions")

    @property
    def with_images(self) -> bool:
        return self.variant["input"] != "text"

    def _text_only_setting(self) -> str:
        return "input=text"

    def _options_pool(self, regions: list[str], valid: list[str]) -> list[str]:
        all_countries = [c for countries in ICH_REGIONS_TO_COUNTRIES.values() for c in countries]
        if self.variant["target"] == "regions":
            return list(ICH_REGIONS_TO_COUNTRIES)
        pool: list[str] = []
        for region in regions:
            if region not in ICH_REGIONS_TO_COUNTRIES:
                raise DataError(f"unknown GIMMICK region {region!r}")
            pool.extend(ICH_REGIONS_TO_COUNTRIES[region])
        if len(pool) - len(valid) < 3:
            pool.extend(all_countries)
        return pool

    def load(self) -> Iterator[Sample]:
        rng = random.Random(SEED)
        target_key = self.variant["target"]
        for _path, row in _read_rows(self._files(), self.required):
            regions, countries = _as_list(row["regions"]), _as_list(row["countries"])
            if target_key == "regions" and len(regions) > 3:
                continue
            valid = regions if target_key == "regions" else countries
            for target in valid:
                fields: dict[str, Any] = {"title": row["title"], "regions": regions, "countries": countries}
                try:
                    options_text, letter, options = multiple_choice_options(
                        target, valid, self._options_pool(regions, valid), rng
                    )
                    fields.update(options_text=options_text, options=options)
                except DataError as exc:
                    fields["_error"], letter = str(exc), None
                yield Sample(
                    id=f"{row['sample_uuid']}-{target}",
                    image=row[self.image_column] if self.with_images else None,
                    fields=fields,
                    target=letter,
                    groups=self._groups(row),
                )

    def prompt(self, sample: Sample, n_images: int) -> str:
        """The official prompt string the model gets (`coqa.py` `_build_prompt_and_gt_for_sample`, then
        `task.py` `apply_gimmick_prompt_template`), with one `<image_placeholder>` per image sent."""
        kind, title = self.variant["target"], sample.fields["title"]
        tail = "Choose from the following options and output only the corresponding letter."
        if self.variant["input"] == "text":
            task = (
                f"From which of the following {kind} does the cultural event or facet with the title `{title}` "
                "originate? "
            )
            n_images = 0
        elif self.variant["input"] == "image":
            task = f"In which of the following {kind} does the event shown in the images take place? "
        else:
            task = (
                f"From which of the following {kind} does the cultural event or facet with the title `{title}` "
                "shown in the images originate? "
            )
        body = (
            f"{image_placeholders(n_images)}\n{task}{tail}\n\n{sample.fields['options_text']}\n\nYour answer letter: "
        )
        return task_template(body.strip())

    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        if "_error" in sample.fields:
            raise DataError(sample.fields["_error"])
        images = self._images(image)
        self._remember_images(sample, images)
        options = sample.fields["options"]
        return [
            Request(
                parts=prompt_parts(self.prompt(sample, len(images)), images),
                max_new_tokens=self.max_new_tokens,
                choices=options,
                choice_labels=[chr(65 + i) for i in range(len(options))],
            )
        ]

    def parse(self, sample: Sample, outputs: list[str]) -> dict[str, Any]:
        return {"letter": parse_letter(outputs[0]), "raw": outputs[0]}

    def score(self, sample: Sample, parsed: dict[str, Any]) -> dict[str, float | None]:
        if sample.target is None:
            return {name: None for name in self.metrics}
        scores: dict[str, float | None] = {"accuracy": float(parsed["letter"] == sample.target)}
        scores.update(match_scores(parsed["raw"], sample.target))
        return scores

    def _judge_question(self, sample: Sample, n_images: int) -> str:
        return self.prompt(sample, n_images)

    def score_batch(self, samples: list[Sample], parsed: list[Any]) -> list[dict[str, float | None]]:
        scores = [self.score(sample, value) for sample, value in zip(samples, parsed)]
        self._add_judge_scores(samples, [p["raw"] if isinstance(p, dict) else p for p in parsed], scores)
        return scores


# -- cultural knowledge test -----------------------------------------------------------------------
CKT_TASKS = {
    "describe-images-title": "Your task is it to write a brief essay about the cultural event or facet depicted by "
    "the following images. It has the title '{title}'. ",
    "describe-images": "Your task is it to write a brief essay about the cultural event or facet depicted by the "
    "following images. ",
    "describe-title": "Your task is it to write a brief essay about the cultural event or facet with the title "
    "'{title}'. ",
    "name-images": "Your task is it to name the cultural event or facet depicted by the following images. "
    "Answer brief and concise. ",
}
CKT_DEFAULT_BERT_MODEL = "roberta-large"  # evaluate's bertscore with lang="en"


class GimmickCKT(_MultiImageTask):
    """GIMMICK cultural knowledge test: an essay about the event, BERTScore against its description."""

    name = "gimmick-ckt"
    version = "2"
    variants = {"task": tuple(CKT_TASKS), "images": ("all", "stacked")}
    metrics = ("bert_score_f1", "bert_score_precision", "bert_score_recall")
    default_source = "floschne/gimmick-coqa"
    source_help = (
        "HF floschne/gimmick-coqa or local parquet with sample_uuid, title, description, countries, regions, images "
        "(stacked_images for images=stacked)"
    )
    base_required = ("sample_uuid", "title", "description", "countries", "regions")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from vlmcult.metrics.captions import BertScorer

        layers = self.options.get("bert_layers")
        self._bert = BertScorer(
            str(self.options.get("bert_model") or CKT_DEFAULT_BERT_MODEL), int(layers) if layers is not None else None
        )

    @property
    def with_images(self) -> bool:
        return self.variant["task"] != "describe-title"

    def _text_only_setting(self) -> str:
        return "task=describe-title"

    def load(self) -> Iterator[Sample]:
        for _path, row in _read_rows(self._files(), self.required):
            yield Sample(
                id=str(row["sample_uuid"]),
                image=row[self.image_column] if self.with_images else None,
                fields={"title": row["title"]},
                target=row["description"],
                groups=self._groups(row),
            )

    def task_prompt(self, sample: Sample) -> str:
        return CKT_TASKS[self.variant["task"]].format(title=sample.fields["title"])

    def prompt(self, sample: Sample, n_images: int) -> str:
        """The official prompt string (`ckt.py` `_build_prompt`, not stripped, then `task.py`
        `apply_gimmick_prompt_template`), with one `<image_placeholder>` per image sent."""
        placeholders = image_placeholders(n_images) if self.with_images else ""
        return task_template(f"{self.task_prompt(sample)}\n\n{placeholders}\n\nYour answer: ")

    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        images = self._images(image)
        self._remember_images(sample, images)
        parts = prompt_parts(self.prompt(sample, len(images)), images)
        return [Request(parts=parts, max_new_tokens=self.max_new_tokens)]

    def parse(self, sample: Sample, outputs: list[str]) -> str:
        return outputs[0]

    def score(self, sample: Sample, parsed: str) -> dict[str, float | None]:
        return self.score_batch([sample], [parsed])[0]

    def score_batch(self, samples: list[Sample], parsed: list[Any]) -> list[dict[str, float | None]]:
        scores: list[dict[str, float | None]] = [{name: None for name in self.metrics} for _ in samples]
        todo = [i for i, sample in enumerate(samples) if sample.target is not None]
        results = self._bert.score([parsed[i] or "" for i in todo], [str(samples[i].target) for i in todo])
        for i, result in zip(todo, results):
            scores[i].update(
                bert_score_f1=result["f1"], bert_score_precision=result["precision"], bert_score_recall=result["recall"]
            )
        self._add_judge_scores(samples, parsed, scores)
        return scores

    def _judge_question(self, sample: Sample, n_images: int) -> str:
        return self.prompt(sample, n_images)
