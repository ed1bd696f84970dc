"""Diversity of generated images per prompt, concept, country and country × concept.

* `vendi`: Vendi score (q = 1) of the images' CLIP embeddings under the cosine kernel: the effective number of
  distinct images (1 .. n). Per prompt over its K seeds; per group as the mean of the per-prompt scores (95%
  bootstrap CI over prompts) and as `vendi_pooled` over all the group's images.
* `qvendi`: quality-weighted Vendi (Nguyen & Dieng 2024), quality = the judge's faithfulness answer (yes 1, no 0):
  a model that is diverse by drawing the wrong culture scores low. Present only with a judge.
* `cube_diversity`: CUBE's notebook protocol on the judge's geo-tags (continent-only kernel, chunks of 8,
  VS/8; `vlmcult.metrics.vendi.cube_cultural_diversity`), per prompt; present only with a judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vlmcult.metrics.vendi import cube_cultural_diversity, vendi_score

GROUP_KEYS = ("concept", "country", "country_concept")


def _group_values(record: dict[str, Any]) -> dict[str, str]:
    country = str(record.get("country") or "") or "(none)"
    concept = str(record.get("concept") or "") or "(none)"
    return {"country": country, "concept": concept, "country_concept": f"{country} / {concept}"}


def diversity_summary(
    records: Sequence[dict[str, Any]],
    embeddings: dict[str, Any],
    quality: dict[str, float] | None = None,
    geo_tags: dict[str, tuple[str, str, str]] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """{"per_prompt": [...], "groups": {key: {value: {metric: {"value", "ci95", "n"}}}}}."""
    from vlmcult.stats import summarise

    by_prompt: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_prompt.setdefault(str(record.get("prompt_id")), []).append(record)
    per_prompt = []
    for prompt_id, members in by_prompt.items():
        entry: dict[str, Any] = {"prompt_id": prompt_id, "prompt": members[0].get("prompt"),
                                 **_group_values(members[0])}
        vectors = [embeddings[m["id"]] for m in members if m["id"] in embeddings]
        entry["n"] = len(vectors)
        if len(vectors) >= 2:
            entry["vendi"] = vendi_score(np.stack(vectors))
            if quality is not None:
                rated = [m["id"] for m in members if m["id"] in embeddings and m["id"] in quality]
                if len(rated) >= 2:
                    entry["qvendi"] = float(np.mean([quality[i] for i in rated])) * vendi_score(
                        np.stack([embeddings[i] for i in rated]))
        if geo_tags is not None:
            tags = [geo_tags[m["id"]] for m in sorted(members, key=lambda m: m.get("seed") or 0) if m["id"] in geo_tags]
            if tags:
                entry["cube_diversity"] = cube_cultural_diversity(tags)
        per_prompt.append(entry)

    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for key in GROUP_KEYS:
        members_by_value: dict[str, list[dict[str, Any]]] = {}
        for entry in per_prompt:
            members_by_value.setdefault(entry[key], []).append(entry)
        groups[key] = {}
        for value in sorted(members_by_value):
            entries = members_by_value[value]
            summary: dict[str, Any] = {}
            for metric in ("vendi", "qvendi", "cube_diversity"):
                values = [e[metric] for e in entries if e.get(metric) is not None]
                if values:
                    summary[metric] = summarise(values, seed=seed)
            ids = [r["id"] for r in records if _group_values(r)[key] == value and r["id"] in embeddings]
            if len(ids) >= 2:
                summary["vendi_pooled"] = {"value": vendi_score(np.stack([embeddings[i] for i in ids])),
                                           "ci95": None, "n": len(ids)}
            groups[key][value] = summary
    return {"per_prompt": per_prompt, "groups": groups}
