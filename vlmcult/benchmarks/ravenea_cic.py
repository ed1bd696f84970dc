"""RAVENEA cIC: culture-aware image captioning (v2 release, `cic_downstream.jsonl`).

Official code: yfyuan01/RAVENEA @b7b3c29 `src/downstream_cic.py` (prompt, RAG context, 1024 new
tokens), `src/metrics.py` + `src/helper.py` (metrics). Each line of `cic_downstream.jsonl` has
`file_name` (the sample id, resolved inside the release folder), `country` (`Country_suffix` forms
are cut at "_", as officially) and `human_captions`, the single reference caption.

Variants:
* `prompt=v2` (the v2 code; asks for the country's name, which inflates RegionScore relative to v1)
  or `prompt=v1` (the paper v1 / v1 code prompt; 256 new tokens by default, as in v1).
* `rag=off|oracle|on` as for ravenea-cvqa: `oracle` inserts the sample's highest-graded candidate
  document, `on` retrieves with the image from `--index DIR` (top-1 by default, `--top-k`). The
  document text is RAVENEA's 256-word cut (vlmcult.retrieval.augment).
* `regions=official|extended`: RegionScore with RAVENEA's own five-country dictionary and substring
  test (default, comparable with the paper), or with vlmcult's full country table (whole words).

Metrics, after RAVENEA's `clean_caption`: `rouge_l`, `cider` (pycocoevalcap on raw strings; the
paper reports x100), `clip_score` (100 x cosine with `--clip-model SPEC`; RAVENEA uses
openai/clip-vit-base-patch16, i.e. `openclip:ViT-B-16@openai`), `bert_score` (F1, bert-base-uncased)
and `region_score`. Groups: `country`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vlmcult.benchmarks.captions import CaptionScoring, caption_prompt
from vlmcult.benchmarks.ravenea import RaveneaBase, read_jsonl, resolve_image
from vlmcult.errors import DataError
from vlmcult.types import Request, Sample


class RaveneaCIC(CaptionScoring, RaveneaBase):
    """RAVENEA cIC: one-sentence cultural captions scored with ROUGE-L, CIDEr, CLIPScore, BERTScore, RegionScore."""

    name = "ravenea-cic"
    version = "2"
    variants = {"prompt": ("v2", "v1"), "rag": ("off", "oracle", "on"), "regions": ("official", "extended")}
    group_keys = ("country",)
    default_max_new_tokens = 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        explicit_budget = kwargs.get("max_new_tokens") is not None
        super().__init__(*args, **kwargs)
        if self.variant["prompt"] == "v1" and not explicit_budget:
            self.max_new_tokens = 256
        self.region_table = self.variant["regions"]

    def count(self) -> int | None:
        return len(read_jsonl(self.release_dir / "cic_downstream.jsonl"))

    def load(self) -> Iterator[Sample]:
        path = self.release_dir / "cic_downstream.jsonl"
        for number, row in enumerate(read_jsonl(path), start=1):
            for key in ("file_name", "human_captions"):
                if key not in row:
                    raise DataError(f"{path}: line {number} lacks the field {key!r}")
            reference = row["human_captions"]
            references = [reference] if isinstance(reference, str) else [str(r) for r in reference or []]
            if not any(r.strip() for r in references):
                raise DataError(f"{path}: line {number} has no reference caption in 'human_captions'")
            country = str(row.get("country") or "").split("_")[0] or None
            yield Sample(
                id=str(row["file_name"]),
                image=resolve_image(self.release_dir, row["file_name"]),
                fields={
                    "country": country,
                    "enwiki_ids": row.get("enwiki_ids"),
                    "culture_relevance": row.get("culture_relevance"),
                },
                target=references,
                groups={"country": country},
            )

    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        docs = self.context_documents(sample, image)
        sample.fields["_context"] = docs
        prompt = caption_prompt(self.variant["prompt"], [text for _doc_id, text, _score in docs])
        return self.build_caption_request(sample, image, prompt)
