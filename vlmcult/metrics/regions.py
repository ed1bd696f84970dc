"""RegionScore: does a caption name the image's country, one of its demonyms or cities?

Definition (RAVENEA paper App. H; yfyuan01/RAVENEA src/helper.py `region_score` @b7b3c29):

    RegionScore = (1/N) * sum_i 1[any t in {C_i} + Adj(C_i) appears in PRED_i]

case-insensitive, with the country taken as `country.split("_")[0]`.

Two term tables:

* `official`: RAVENEA's own dictionary, for its five cIC countries only, matched as a
  case-insensitive substring exactly as the official code does. Use it to compare with the paper.
* `extended`: `vlmcult/data/regions.json`, every UN member state and the other countries of
  CVQA, CulturalVQA, GIMMICK, RAVENEA and CUBE (names, demonyms, major cities). Because plain
  substrings give false hits with many more countries ("Oman" in "woman", "Niger" in "Nigerian"),
  the extended table matches whole words (an optional plural "s"/"es" allowed), case-insensitive.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

# RAVENEA v2 `region_score` dictionary (v1 lacks "Beijing").
RAVENEA_TERMS: dict[str, list[str]] = {
    "Nigeria": ["Nigerian"],
    "Korea": ["Korean", "Seoul"],
    "China": ["Chinese", "Shanghai", "Beijing"],
    "Mexico": ["Mexican"],
    "India": ["Indian"],
}
TERM_TABLES: tuple[str, ...] = ("official", "extended")


@lru_cache(maxsize=1)
def region_table() -> dict[str, dict[str, list[str]]]:
    """The shipped country table: canonical name -> {"aliases", "demonyms", "cities"}."""
    text = resources.files("vlmcult").joinpath("data", "regions.json").read_text(encoding="utf-8")
    return json.loads(text)["countries"]


@lru_cache(maxsize=1)
def _name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, entry in region_table().items():
        for alias in [name, *entry["aliases"]]:
            index[alias.casefold()] = name
    return index


def canonical_country(name: str | None) -> str | None:
    """A country name or alias as found in data -> the table's canonical name, or None if unknown.

    RAVENEA's `Country_suffix` form is accepted (the part before the first "_" is used).
    """
    if not name:
        return None
    key = str(name).split("_")[0].strip().casefold()
    return _name_index().get(key)


def country_terms(country: str, table: str = "extended") -> list[str] | None:
    """The terms that count as naming `country`, or None when the country is not in the table."""
    if table == "official":
        key = str(country).split("_")[0]
        if key not in RAVENEA_TERMS:
            return None
        return RAVENEA_TERMS[key] + [key]
    canonical = canonical_country(country)
    if canonical is None:
        return None
    entry = region_table()[canonical]
    return [canonical, *entry["aliases"], *entry["demonyms"], *entry["cities"]]


@lru_cache(maxsize=4096)
def _word_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?:s|es)?(?!\w)", re.IGNORECASE)


def region_hit(caption: str, country: str, table: str = "extended") -> float | None:
    """1.0 if the caption names the country (or a demonym/city), 0.0 if not, None if the country is unknown."""
    terms = country_terms(country, table)
    if terms is None:
        return None
    if table == "official":
        # Exactly RAVENEA: `term.lower() in caption.lower()`.
        lowered = caption.lower()
        return float(any(term.lower() in lowered for term in terms))
    return float(_word_pattern(tuple(terms)).search(caption) is not None)


def region_score(captions: list[str], countries: list[str], table: str = "extended") -> float | None:
    """Mean of `region_hit` over items whose country is known (None when none is)."""
    hits = [region_hit(caption, country, table) for caption, country in zip(captions, countries)]
    known = [hit for hit in hits if hit is not None]
    return sum(known) / len(known) if known else None


def unknown_countries(countries: list[Any], table: str = "extended") -> list[str]:
    """Distinct country names the table does not know, sorted (for the one-line warning)."""
    return sorted({str(c) for c in countries if c is not None and country_terms(str(c), table) is None})
