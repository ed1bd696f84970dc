"""`captions`: cultural image captioning on your own data, with RAVENEA's and MosAIC's caption metrics.

Data: a JSONL file, or a folder holding one (`captions.jsonl`, else the only `*.jsonl`), one line per
image:

    {"id": "x1", "image": "images/x1.jpg", "references": ["A woman in a hanbok ..."],
     "country": "Korea", "tags": ["dress", "woman"]}

`image` is a path relative to the JSONL file's folder (absolute paths are allowed); `references` is a
list of captions (`reference` or `caption`, a single string, is accepted too); `id` defaults to the
line number; `country` (any name or alias in vlmcult/data/regions.json) and `tags` (a list or MosAIC's
", "-joined string) are optional. A file without references is refused.

Prompt (variant `prompt`): RAVENEA's v2 or v1 cIC instruction (see ravenea_cic). Outputs go through
RAVENEA's `clean_caption` before scoring.

Metrics (vlmcult.metrics.captions): `rouge_l` (pycocoevalcap, raw strings), `cider` (pycocoevalcap,
a corpus metric), `bert_score` (F1, bert-base-uncased; `bert_model=PATH`, `bert_layers=N` for a local
model), `clip_score` (100 x cosine per item with `--clip-model SPEC`; the reported mean is clipped at 0 as
RAVENEA does), `region_score` (RegionScore with the
extended country table; countries it does not know are listed in one warning and left unscored),
and with `--word-list PATH` MosAIC's `cultural_word_ratio` and `cultural_word_count`, and
`tag_completeness` when the data has tags (needs NLTK's WordNet; without it the metric is skipped with one
warning). Groups: `country`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vlmcult.benchmarks.base import Benchmark
from vlmcult.datasource import iter_jsonl
from vlmcult.errors import ConfigError, DataError
from vlmcult.metrics import captions as caption_metrics
from vlmcult.metrics.regions import canonical_country, region_hit, unknown_countries
from vlmcult.types import Request, Sample

log = logging.getLogger(__name__)

# RAVENEA v1 cIC prompt (yfyuan01/RAVENEA src/helper.py `prepare_cic_input`@3278d19, paper v1 Table 11).
CIC_V1_TEMPLATE = (
    "Write a concise, one-sentence caption for the given image. The generated caption must contain the visual content "
    'and culturally relevant elements of the image. Avoid explicit references to the image itself (e.g., "This image '
    'shows...", "Pictured here is...", "In this photograph..."). Do not generate multiple options. {CONTEXT}'
)
CIC_V1_RAG_TEMPLATE = "Please consider the following context:\n{Retrieval}"


def cic_v1_prompt(doc_texts: list[str] | tuple[str, ...] = ()) -> str:
    """The v1 prompt: stripped without a document; with one, the context plus a newline (not stripped)."""
    if not doc_texts:
        return CIC_V1_TEMPLATE.format(CONTEXT="").strip()
    context = CIC_V1_RAG_TEMPLATE.format(Retrieval=" ".join(doc_texts).strip())
    return CIC_V1_TEMPLATE.format(CONTEXT=context + "\n")


def caption_prompt(version: str, doc_texts: list[str] | tuple[str, ...] = ()) -> str:
    if version == "v1":
        return cic_v1_prompt(doc_texts)
    from vlmcult.retrieval.augment import cic_prompt

    return cic_prompt(list(doc_texts))


class CaptionScoring(Benchmark):
    """Caption metrics shared by `captions` and `ravenea-cic` (see vlmcult.metrics.captions)."""

    # Every per-item metric this family can report (`cider` is a corpus metric); an instance keeps
    # the ones its options make available (clip_score needs --clip-model, the MosAIC ones a word list/tags).
    metrics = (
        "rouge_l",
        "bert_score",
        "clip_score",
        "region_score",
        "cultural_word_ratio",
        "cultural_word_count",
        "tag_completeness",
    )
    base_metrics: tuple[str, ...] = ("rouge_l", "bert_score", "region_score")
    region_table = "extended"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        layers = self.options.get("bert_layers")
        self._bert = caption_metrics.BertScorer(
            str(self.options.get("bert_model") or caption_metrics.DEFAULT_BERT_MODEL),
            int(layers) if layers is not None else None,
        )
        self.clip_model_spec: str | None = self.options.get("clip_model")
        self._clip: Any = None
        word_list = self.options.get("word_list")
        self._words = caption_metrics.load_word_list(word_list) if word_list else None
        metrics = list(self.base_metrics)
        if self.clip_model_spec:
            metrics.insert(2, "clip_score")
        if self._words is not None:
            metrics += ["cultural_word_ratio", "cultural_word_count"]
        if self.has_tags():
            if caption_metrics.wordnet_available():
                metrics.append("tag_completeness")
            else:  # the other metrics still score; only the WordNet expansion is missing
                log.warning("tag_completeness is skipped: it needs NLTK's WordNet corpus (%s)", caption_metrics.WORDNET_HINT)
        self.metrics = tuple(metrics)
        self._warned_unknown: set[str] = set(getattr(self, "_warned_unknown_at_start", ()))

    def has_tags(self) -> bool:
        return False

    def _region_key(self, sample: Sample) -> str | None:
        return sample.fields.get("country")

    def _warn_unknown(self, samples: list[Sample]) -> None:
        unknown = [
            c
            for c in unknown_countries([self._region_key(s) for s in samples], self.region_table)
            if c not in self._warned_unknown
        ]
        if unknown:
            self._warned_unknown.update(unknown)
            log.warning("RegionScore skips countries not in the %s table: %s", self.region_table, ", ".join(unknown))

    def _clip_embedder(self) -> Any:
        if self._clip is None:
            from vlmcult.registry import load_model

            self._clip = load_model(self.clip_model_spec)
            if not hasattr(self._clip, "embed_images"):
                raise ConfigError(
                    f"--clip-model {self.clip_model_spec} is not an image-text embedder (use openclip:...)"
                )
        return self._clip

    def build_caption_request(self, sample: Sample, image: Any, prompt: str) -> list[Request]:
        if self.clip_model_spec:
            sample.fields["_image"] = image
        return [Request(parts=[image, prompt], max_new_tokens=self.max_new_tokens)]

    def parse(self, sample: Sample, outputs: list[str]) -> str:
        return caption_metrics.clean_caption(outputs[0] or "")

    def score(self, sample: Sample, parsed: str) -> dict[str, float | None]:
        return self.score_batch([sample], [parsed])[0]

    def score_batch(self, samples: list[Sample], parsed: list[Any]) -> list[dict[str, float | None]]:
        scores: list[dict[str, float | None]] = [{name: None for name in self.metrics} for _ in samples]
        captions = [p if isinstance(p, str) else "" for p in parsed]
        todo = [i for i, sample in enumerate(samples) if sample.target]
        self._warn_unknown(samples)
        for i in todo:
            scores[i]["rouge_l"] = caption_metrics.rouge_l(captions[i], samples[i].target)
            country = self._region_key(samples[i])
            scores[i]["region_score"] = region_hit(captions[i], country, self.region_table) if country else None
        bert = self._bert.score([captions[i] for i in todo], [samples[i].target for i in todo])
        for i, result in zip(todo, bert):
            scores[i]["bert_score"] = result["f1"]
        if self.clip_model_spec:
            images = [samples[i].fields.get("_image") or self.decode(samples[i]) for i in range(len(samples))]
            for i, value in enumerate(caption_metrics.clip_scores(self._clip_embedder(), images, captions)):
                scores[i]["clip_score"] = value
        for i, sample in enumerate(samples):
            if self._words is not None:
                scores[i]["cultural_word_ratio"] = caption_metrics.cultural_word_ratio(captions[i], self._words)
                scores[i]["cultural_word_count"] = float(caption_metrics.cultural_word_count(captions[i], self._words))
            if "tag_completeness" in self.metrics and sample.fields.get("tags"):
                scores[i]["tag_completeness"] = caption_metrics.tag_completeness(sample.fields["tags"], captions[i])
        return scores

    def corpus_metrics(self) -> dict[str, Callable[[list[dict[str, Any]]], float | None]]:
        def cider(records: list[dict[str, Any]]) -> float | None:
            usable = [r for r in records if not r.get("error") and r.get("target") and isinstance(r.get("parsed"), str)]
            return caption_metrics.cider([r["parsed"] for r in usable], [r["target"] for r in usable])

        def clip_score(records: list[dict[str, Any]]) -> float | None:
            # RAVENEA v2 clips the mean CLIPScore at 0 (per-item values stay unclipped for paired comparisons).
            values = [
                r["scores"]["clip_score"] for r in records if (r.get("scores") or {}).get("clip_score") is not None
            ]
            return max(0.0, sum(values) / len(values)) if values else None

        corpus: dict[str, Callable[[list[dict[str, Any]]], float | None]] = {"cider": cider}
        if "clip_score" in self.metrics:
            corpus["clip_score"] = clip_score
        return corpus


def _references(row: dict[str, Any]) -> list[str]:
    value = row.get("references", row.get("reference", row.get("caption")))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [str(ref) for ref in value if str(ref).strip()]


class Captions(CaptionScoring):
    """Cultural image captioning on a user JSONL (image, reference captions, country, tags)."""

    name = "captions"
    version = "1"
    variants = {"prompt": ("v2", "v1")}
    group_keys = ("country",)
    default_max_new_tokens = 1024
    source_help = "a JSONL file (or a folder with captions.jsonl): image, references, optional id, country, tags"

    def _file(self) -> Path:
        if self.source is None:
            raise DataError("no caption data given: pass --data FILE.jsonl (image, references, country)")
        path = Path(str(self.source)).expanduser()
        if path.is_dir():
            preferred = path / "captions.jsonl"
            candidates = [preferred] if preferred.is_file() else sorted(path.glob("*.jsonl"))
            if len(candidates) != 1:
                raise DataError(f"{path} needs captions.jsonl (or exactly one .jsonl file), found {len(candidates)}")
            path = candidates[0]
        if not path.is_file():
            raise DataError(f"caption file not found: {path}")
        return path

    def has_tags(self) -> bool:
        # One pass over the file at start: whether tags exist, and one warning for all unknown countries.
        rows = list(iter_jsonl(self._file()))
        unknown = unknown_countries([row.get("country") for row in rows], self.region_table)
        if unknown:
            log.warning("RegionScore skips countries not in the %s table: %s", self.region_table, ", ".join(unknown))
        self._warned_unknown_at_start = set(unknown)
        return any(row.get("tags") for row in rows)

    def count(self) -> int | None:
        return sum(1 for _ in iter_jsonl(self._file()))

    def load(self) -> Iterator[Sample]:
        path = self._file()
        for number, row in enumerate(iter_jsonl(path), start=1):
            references = _references(row)
            if not references:
                raise DataError(f"{path}: line {number} has no reference caption (give 'references': [...])")
            if not row.get("image"):
                raise DataError(f"{path}: line {number} has no 'image'")
            image = Path(str(row["image"])).expanduser()
            if not image.is_absolute():
                image = path.parent / image
            country = row.get("country")
            yield Sample(
                id=str(row.get("id", number)),
                image=image,
                fields={"country": country, "tags": row.get("tags")},
                target=references,
                groups={"country": (canonical_country(country) or country) if country else None},
            )

    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        return self.build_caption_request(sample, image, caption_prompt(self.variant["prompt"]))
