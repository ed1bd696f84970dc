"""Encoder dispatch and the hf: CLIP embedder on a tiny random CLIPModel built from a config."""

from __future__ import annotations

import numpy as np
import pytest

from vlmcult.errors import ConfigError, ModelError
from vlmcult.retrieval.encode import Embedder, load_embedder


def _byte_chars() -> list[str]:
    visible = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = visible[:], 0
    for b in range(256):
        if b not in visible:
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    chars = _byte_chars()
    vocab = {token: i for i, token in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 77,
                     "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"],
                     "pad_token_id": vocab["<|endoftext|>"]},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    folder = tmp_path_factory.mktemp("tiny-hf-clip")
    CLIPModel(config).eval().save_pretrained(folder)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def _images():
    from PIL import Image

    return [Image.new("RGB", (40, 48), color) for color in ((255, 0, 0), (0, 128, 255), (20, 200, 20))]


def test_hf_clip_embedder_matches_clip_logits(tiny_clip_dir):
    import torch
    from transformers import CLIPModel, CLIPProcessor

    embedder = load_embedder(f"hf:{tiny_clip_dir}", device="cpu")
    assert isinstance(embedder, Embedder)
    assert embedder.dim == 16 and embedder.id == f"hf:{tiny_clip_dir.resolve()}"
    texts = ["a red lantern", "a blue kite over the sea", "green tea"]
    text_vectors, image_vectors = embedder.embed_texts(texts), embedder.embed_images(_images())
    assert text_vectors.dtype == np.float32 and text_vectors.shape == (3, 16) and image_vectors.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(text_vectors, axis=1), 1.0, atol=1e-5)
    # RAVENEA scores with logits_per_image from processor(text, images, padding="max_length", truncation=True)
    model, processor = CLIPModel.from_pretrained(tiny_clip_dir), CLIPProcessor.from_pretrained(tiny_clip_dir)
    inputs = processor(text=texts, images=_images()[0], padding="max_length", truncation=True, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**inputs).logits_per_image[0].numpy()
    ours = text_vectors @ image_vectors[0]
    np.testing.assert_allclose(ours * model.logit_scale.exp().item(), logits, rtol=1e-4, atol=1e-5)
    assert list(np.argsort(-ours)) == list(np.argsort(-logits))


def test_hf_image_search_through_an_index(tiny_clip_dir, tmp_path):
    import json

    from vlmcult.retrieval.augment import retrieve_for_image
    from vlmcult.retrieval.index import build_index, load_index

    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "title": t, "text": t + ". More text"}) + "\n"
                              for i, t in enumerate(["red lantern", "blue kite", "green tea", "clay pot"])))
    out = build_index(corpus, f"hf:{tiny_clip_dir}", tmp_path / "idx", device="cpu", progress=False)
    index = load_index(out)  # the encoder comes from meta.json
    assert index.meta["encoder"]["spec"] == f"hf:{tiny_clip_dir}"
    hits = index.search(images=_images()[:1], k=4)[0]
    expected = index.embedder.embed_texts([h.text for h in hits]) @ index.embedder.embed_images(_images()[:1])[0]
    np.testing.assert_allclose([h.score for h in hits], expected, atol=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    top = retrieve_for_image(index, _images()[0], top_k=2)
    assert [(d, s) for d, _t, _x, s in top] == [(h.doc_id, h.score) for h in hits[:2]]
    assert all(text.endswith(".") and "More" not in text for _d, _t, text, _s in top)  # ravenea cut applied


def test_undecodable_image_query_is_a_data_error(tiny_clip_dir, tmp_path):
    from vlmcult.errors import DataError

    embedder = load_embedder(f"hf:{tiny_clip_dir}", device="cpu")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DataError, match="cannot be decoded"):
        embedder.embed_images([bad])


def test_openclip_tiny_embedder_through_the_dispatch(tmp_path):
    from vlmcult.testing import tiny
    folder = tiny.build_tiny_clip(tmp_path / "tiny-clip")
    embedder = load_embedder(f"openclip:local-dir:{folder}", device="cpu")
    assert embedder.dim == 32
    vectors = np.asarray(embedder.embed_images(_images()), dtype=np.float32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_bad_specs():
    with pytest.raises(ModelError, match="BACKEND:NAME"):
        load_embedder("minilm")
    with pytest.raises(ModelError, match="not an embedder backend"):
        load_embedder("openai:gpt-4o")
    with pytest.raises(ConfigError, match="not an embedder"):
        load_embedder(object())
    with pytest.raises(ModelError, match="cannot load"):
        load_embedder("hf:/nonexistent/clip-folder-xyz", device="cpu")


@pytest.fixture(scope="module")
def tiny_openclip_dir(tmp_path_factory):
    from vlmcult.testing import tiny
    return tiny.build_tiny_clip(tmp_path_factory.mktemp("tiny-openclip") / "clip")


@pytest.mark.parametrize("backend", ["hf", "openclip"])
def test_index_built_with_a_relative_folder_spec_searches_from_anywhere(
    backend, tiny_clip_dir, tiny_openclip_dir, tmp_path, monkeypatch
):
    import json
    import os

    from vlmcult.retrieval.index import build_index, load_index

    folder = tiny_clip_dir if backend == "hf" else tiny_openclip_dir
    build_dir = tmp_path / "build"
    build_dir.mkdir()
    monkeypatch.chdir(build_dir)
    relative = os.path.relpath(folder, build_dir)
    spec = f"hf:{relative}" if backend == "hf" else f"openclip:local-dir:{relative}"
    corpus = build_dir / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "title": t, "text": t}) + "\n"
                              for i, t in enumerate(["red lantern", "blue kite", "green tea"])))
    out = build_index("c.jsonl", spec, "idx", device="cpu", progress=False).resolve()
    stored = json.loads((out / "meta.json").read_text())["encoder"]["spec"]
    assert stored == (f"hf:{folder.resolve()}" if backend == "hf" else f"openclip:local-dir:{folder.resolve()}")

    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    index = load_index(out)  # the encoder comes from meta.json
    hits = index.search(images=_images()[:1], k=3)[0]
    expected = index.embedder.embed_texts([h.text for h in hits]) @ index.embedder.embed_images(_images()[:1])[0]
    np.testing.assert_allclose([h.score for h in hits], expected, atol=1e-5)

    # an index written before specs were stored absolute still finds its encoder through the recorded id
    meta = json.loads((out / "meta.json").read_text())
    meta["encoder"]["spec"] = spec
    (out / "meta.json").write_text(json.dumps(meta))
    assert load_index(out).search(images=_images()[:1], k=3)[0] == hits


def test_portable_spec_makes_local_paths_absolute_and_keeps_hub_ids(tmp_path, monkeypatch):
    from vlmcult.retrieval.encode import portable_spec

    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "m").mkdir(parents=True)
    (tmp_path / "minilm").mkdir()
    (tmp_path / "ckpt.pt").write_bytes(b"")
    local = tmp_path / "models" / "m"
    assert portable_spec("hf:models/m") == f"hf:{local}"
    assert portable_spec("sbert:models/m") == f"sbert:{local}"
    assert portable_spec("openclip:local-dir:models/m") == f"openclip:local-dir:{local}"
    assert portable_spec("openclip:ViT-B-32@ckpt.pt") == f"openclip:ViT-B-32@{tmp_path / 'ckpt.pt'}"
    for unchanged in ("hf:openai/clip-vit-large-patch14", "sbert:minilm", "openclip:ViT-L-14@openai",
                      "sbert:sentence-transformers/all-mpnet-base-v2", f"hf:{local}"):
        assert portable_spec(unchanged) == unchanged
