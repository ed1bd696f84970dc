"""Caption metrics: RAVENEA's cIC metrics and MosAIC's culture-adaptable measures.

RAVENEA (yfyuan01/RAVENEA src/metrics.py + src/helper.py @b7b3c29):
* `clean_caption` is applied to every generated caption first.
* ROUGE-L and CIDEr from pycocoevalcap on the raw strings (no PTB tokenizer), with the single human
  caption as the only reference. ROUGE-L is a mean of per-image scores, so it is a per-item metric
  here; CIDEr's document frequencies come from the whole evaluated set, so it is a corpus metric.
* CLIPScore = 100 * cos(image, caption) (v2; no 2.5 factor, no per-sample clipping at 0). RAVENEA
  clips the final mean at >= 0: the caption benchmarks report that clipped mean (a corpus metric)
  and keep the unclipped per-item values for paired comparisons.
* BERTScore F1 with `bert-base-uncased` (bert-score package defaults otherwise: layer 9, no idf,
  no baseline rescaling), mean over items.

MosAIC (MichiganNLP/MosAIC eval/auto_metrics.py @952308c, MIT):
* cultural number ratio `cnr` = |{w in set(caption.lower().split()) : w in words}| / |set(...)|,
  `c_number` = that count; the word list is lower-cased and stripped, one entry a line.
* tag completeness = |WordNet-expanded(tags) & set(caption.lower().split())| / |tags|, tags split on
  ", ", expanded with the synonyms, hyponyms and hypernyms of every WordNet synset of each tag.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vlmcult.errors import ConfigError, DataError, ModelError

DEFAULT_BERT_MODEL = "bert-base-uncased"

_CAPTION_PATTERNS = (
    r"\*\*Option 1.*?(?=Option|\Z)",  # option-style headings: keep the first option
    r":\s*\n\n(.+)",  # a plain caption after an intro line ending in a colon
)


def clean_caption(text: str) -> str:
    """RAVENEA's `clean_caption`: the first caption from a chatty answer, quotes and stars removed."""
    # Ported from yfyuan01/RAVENEA src/helper.py `clean_caption` (same patterns, same replacements).
    for pattern in _CAPTION_PATTERNS:
        match = re.search(pattern, text, re.DOTALL | re.IGNORECASE)
        if match:
            caption = match.group()
            return (
                caption.split(":")[-1]
                .strip()
                .replace("*", "")
                .replace("\u2019", "'")
                .replace("\u2018", "'")
                .replace("\u2013", "-")
                .replace("\u201c", "")
                .replace("\u201d", "")
                .replace("\n", "")
                .strip()
                .split("  ")[0]
            )
    return (
        text.replace("*", "")
        .replace("\u2019", "'")
        .replace("\u201c", "")
        .replace("\u201d", "")
        .replace("\u2013", "-")
        .replace("\u2018", "'")
        .strip()
    )


# -- ROUGE-L and CIDEr (pycocoevalcap) -----------------------------------------------------------
def rouge_l(prediction: str, references: Sequence[str]) -> float:
    """pycocoevalcap ROUGE-L of one caption against its references (raw strings)."""
    from pycocoevalcap.rouge.rouge import Rouge

    if not references:
        raise DataError("a caption item has no reference caption")
    return float(Rouge().calc_score([prediction], list(references)))


def cider(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float | None:
    """pycocoevalcap CIDEr over a set of captions (raw strings); None for an empty set."""
    from pycocoevalcap.cider.cider import Cider

    if not predictions:
        return None
    # Keys are positions, so that a bootstrap resample may repeat an item.
    gts = {i: list(refs) for i, refs in enumerate(references)}
    res = {i: [pred] for i, pred in enumerate(predictions)}
    score, _ = Cider().compute_score(gts, res)
    return float(score)


# -- CLIPScore ----------------------------------------------------------------------------------
def clip_cosines(embedder: Any, images: Sequence[Any], captions: Sequence[str], batch_size: int = 256) -> list[float]:
    """Row-wise cosine between each image and its caption with an Embedder (L2-normalised outputs)."""
    import numpy as np

    if len(images) != len(captions):
        raise ValueError("images and captions differ in length")
    cosines: list[float] = []
    for start in range(0, len(images), batch_size):
        image_vectors = np.asarray(embedder.embed_images(list(images[start : start + batch_size])), dtype=np.float32)
        text_vectors = np.asarray(embedder.embed_texts(list(captions[start : start + batch_size])), dtype=np.float32)
        cosines.extend(np.einsum("ij,ij->i", image_vectors, text_vectors).tolist())
    return cosines


def clip_scores(embedder: Any, images: Sequence[Any], captions: Sequence[str], batch_size: int = 256) -> list[float]:
    """RAVENEA v2 CLIPScore per item: 100 * cosine(image, caption)."""
    return [100.0 * cosine for cosine in clip_cosines(embedder, images, captions, batch_size)]


# -- BERTScore ----------------------------------------------------------------------------------
class BertScorer:
    """bert-score's scorer, loaded once. `model` is a hub id or a local folder (then give `num_layers`)."""

    def __init__(self, model: str = DEFAULT_BERT_MODEL, num_layers: int | None = None, batch_size: int = 64) -> None:
        self.model = model
        self.num_layers = num_layers
        self.batch_size = batch_size
        self._scorer: Any = None

    def _load(self) -> Any:
        if self._scorer is None:
            import bert_score

            if self.num_layers is None and self.model not in bert_score.utils.model2layers:
                raise ConfigError(
                    f"BERTScore model {self.model!r} has no default layer: pass --bert-layers N (bert_layers=N)"
                )
            try:
                self._scorer = bert_score.BERTScorer(
                    model_type=self.model, num_layers=self.num_layers, lang="en", batch_size=self.batch_size
                )
            except OSError as exc:
                raise ModelError(
                    f"BERTScore model {self.model!r} cannot be loaded ({type(exc).__name__}); offline, pass a local"
                    " BERT folder with --bert-model PATH --bert-layers N (bert_model=, bert_layers= in Python)"
                ) from None
            _patch_empty_sentence_encoding(self._scorer._tokenizer)
        return self._scorer

    def score(self, predictions: Sequence[str], references: Sequence[str | Sequence[str]]) -> list[dict[str, float]]:
        """Per item precision, recall and F1 (bert-score's max over references when several are given)."""
        if not predictions:
            return []
        precision, recall, f1 = self._load().score(
            list(predictions), [r if isinstance(r, str) else list(r) for r in references]
        )
        return [
            {"precision": float(p), "recall": float(r), "f1": float(f)}
            for p, r, f in zip(precision.tolist(), recall.tolist(), f1.tolist())
        ]


def _patch_empty_sentence_encoding(tokenizer: Any) -> None:
    """bert-score encodes an empty sentence with `build_inputs_with_special_tokens([])`, which
    transformers 5 tokenizers no longer have; give it back (special tokens around the ids), so an
    empty caption scores 0 as bert-score intends instead of crashing."""
    if hasattr(tokenizer, "build_inputs_with_special_tokens"):
        return
    special = tokenizer.encode("", add_special_tokens=True)

    def build_inputs_with_special_tokens(token_ids: list[int], *_: Any) -> list[int]:
        return special[:1] + list(token_ids) + special[1:]

    tokenizer.build_inputs_with_special_tokens = build_inputs_with_special_tokens


# -- MosAIC ------------------------------------------------------------------------------------
def load_word_list(path: str | Path) -> frozenset[str]:
    """A cultural word list: one entry a line, lower-cased and stripped (MosAIC `load_cultural_words`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"cultural word list not found: {path} (give a text file with one word a line)")
    with path.open(encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle)


def cultural_word_count(caption: str, words: frozenset[str]) -> int:
    """MosAIC `c_number`: distinct lower-cased whitespace tokens of the caption found in the list."""
    tokens = set(caption.lower().split())
    return sum(1 for token in tokens if token in words)


def cultural_word_ratio(caption: str, words: frozenset[str]) -> float:
    """MosAIC `cnr`: `c_number` over the number of distinct tokens (0 for an empty caption)."""
    tokens = set(caption.lower().split())
    return cultural_word_count(caption, words) / len(tokens) if tokens else 0.0


def wordnet_related_words(word: str) -> set[str]:
    """Synonyms, hyponyms and hypernyms of every synset of `word` (MosAIC `get_wordnet_related_words`)."""
    wordnet = _wordnet()
    related: set[str] = set()
    for synset in wordnet.synsets(word):
        related.update(synset.lemma_names())
        related.update(lemma.name() for hyponym in synset.hyponyms() for lemma in hyponym.lemmas())
        related.update(lemma.name() for hypernym in synset.hypernyms() for lemma in hypernym.lemmas())
    return {w.replace("_", " ").lower() for w in related}


def tag_completeness(
    tags: str | Sequence[str], caption: str, related: Callable[[str], set[str]] | None = None
) -> float:
    """MosAIC completeness: expanded tags found among the caption's words, over the number of tags.

    `tags` is MosAIC's ", "-joined string or a list. Note that the expansion of a tag does not
    contain the tag itself unless WordNet lists it as a lemma (as in the official code).
    """
    tag_set = set(tags.split(", ")) if isinstance(tags, str) else set(tags)
    related = related or wordnet_related_words
    expanded: set[str] = set()
    for tag in tag_set:
        expanded.update(related(tag))
    if not tag_set:
        return 0.0
    return len(expanded & set(caption.lower().split())) / len(tag_set)


WORDNET_HINT = "pip install nltk, then python -m nltk.downloader wordnet"


def wordnet_available() -> bool:
    """Whether NLTK and its WordNet corpus are installed (tag completeness needs them; offline they cannot be fetched)."""
    try:
        _wordnet()
    except ConfigError:
        return False
    return True


def _wordnet() -> Any:
    try:
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
    except (ImportError, LookupError):
        raise ConfigError(f"tag completeness needs NLTK's WordNet corpus: {WORDNET_HINT}") from None
    return wordnet
