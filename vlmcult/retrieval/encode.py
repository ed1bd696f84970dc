"""Encoders for retrieval: the Embedder protocol, spec dispatch, and the `hf:` CLIP/SigLIP embedder.

Specs: `sbert:<hub-id-or-folder>` (text only, vlmcult.models.sbert), `openclip:<arch>[@<tag>]` or
`openclip:local-dir:<folder>` (vlmcult.models.openclip), `hf:<hub-id-or-folder>` (a transformers
CLIP or SigLIP dual encoder, below). Every embedder returns L2-normalised float32 rows and has a
stable `id` that an index records, so that an index is never searched with another encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vlmcult.errors import ConfigError, ModelError, did_you_mean

EMBEDDER_PREFIXES = ("sbert", "openclip", "hf")


@runtime_checkable
class Embedder(Protocol):
    id: str
    dim: int

    def embed_texts(self, texts: list[str]) -> np.ndarray: ...

    def embed_images(self, images: list[Any]) -> np.ndarray: ...


def load_embedder(spec: str | Embedder, device: str | None = None, **options: Any) -> Embedder:
    """An Embedder from a spec string (`sbert:`, `openclip:`, `hf:`); an Embedder passes through."""
    if not isinstance(spec, str):
        if not isinstance(spec, Embedder):
            raise ConfigError(f"{type(spec).__name__} is not an embedder (needs id, dim, embed_texts, embed_images)")
        return spec
    backend, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ModelError(f"encoder spec {spec!r} is not of the form BACKEND:NAME (backends: {', '.join(EMBEDDER_PREFIXES)})")
    if backend not in EMBEDDER_PREFIXES:
        raise ModelError(f"{backend!r} is not an embedder backend{did_you_mean(backend, EMBEDDER_PREFIXES)}")
    from vlmcult.models.devices import resolve_device

    device = resolve_device(device)  # a bad or absent --device is one line, before any weights load
    if backend == "sbert":
        from vlmcult.models import sbert

        embedder: Any = sbert.load(rest, device=device, **options)
    elif backend == "openclip":
        try:
            from vlmcult.models import openclip
        except ImportError:
            raise ModelError("the openclip: backend is not available in this installation") from None
        embedder = openclip.load(rest, device=device, **options)
    else:
        embedder = load_hf_embedder(rest, device=device, **options)
    if not getattr(embedder, "spec", None):
        embedder.spec = spec  # what run records name as the model
    return embedder


def portable_spec(spec: str) -> str:
    """The spec with local folder and checkpoint paths made absolute, so it loads from any working directory.

    Hub ids and names stay as they are; each backend's own rule decides what is a local path
    (`sbert:minilm` stays the offline alias even where a folder `minilm` exists).
    """
    backend, sep, rest = spec.partition(":")
    if not sep or not rest:
        return spec

    from vlmcult.models.openclip import LOCAL_DIR
    from vlmcult.models.sbert import MINILM_ALIASES

    def existing(text: str, folder: bool = False) -> str | None:
        path = Path(text).expanduser()
        return str(path.resolve()) if (path.is_dir() if folder else path.exists()) else None

    if backend == "sbert" and rest.lower() not in MINILM_ALIASES and (path := existing(rest)):
        return f"sbert:{path}"
    if backend == "hf" and (path := existing(rest, folder=True)):
        return f"hf:{path}"
    if backend == "openclip":
        if rest.startswith(LOCAL_DIR) and (path := existing(rest[len(LOCAL_DIR) :])):
            return f"openclip:{LOCAL_DIR}{path}"
        arch, at, pretrained = rest.partition("@")
        if at and Path(pretrained).expanduser().is_file():
            return f"openclip:{arch}@{Path(pretrained).expanduser().resolve()}"
    return spec


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def as_pil_images(images: Sequence[Any]) -> list[Any]:
    """PIL images, paths or bytes -> RGB PIL images; an undecodable one raises DataError."""
    from vlmcult.images import decode_image

    return [decode_image(image) for image in images]


def _features(output: Any) -> Any:
    # transformers 5 returns BaseModelOutputWithPooling (projected features in pooler_output); 4.x a tensor
    return output if hasattr(output, "shape") else output.pooler_output


class HFEmbedder:
    """A transformers dual encoder (CLIPModel, SiglipModel, Siglip2Model, ...) as an Embedder.

    Text is tokenised as RAVENEA does (`padding="max_length", truncation=True`,
    yfyuan01/RAVENEA src/inference.py@1dadf88). Its score `logits_per_image` is a positive scale
    times this cosine (plus a bias for SigLIP), so rankings by cosine are identical.
    """

    def __init__(self, model: Any, processor: Any, model_id: str, device: str, batch_size: int = 32) -> None:
        self.model = model
        self.processor = processor
        self.id = model_id
        self.device = device
        self.batch_size = batch_size
        config = model.config
        dim = getattr(config, "projection_dim", None)
        if dim is None:
            dim = getattr(getattr(config, "text_config", None), "hidden_size", None)
        self.dim = int(dim)
        self.dtype = next(model.parameters()).dtype

    def _tokenizer(self) -> Any:
        return getattr(self.processor, "tokenizer", self.processor)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        rows = []
        tokenizer = self._tokenizer()
        max_length = getattr(getattr(self.model.config, "text_config", None), "max_position_embeddings", None)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            inputs = tokenizer(
                batch, padding="max_length", truncation=True, max_length=max_length, return_tensors="pt"
            )
            inputs = {key: value.to(self.device) for key, value in inputs.items()}
            with torch.inference_mode():
                rows.append(_features(self.model.get_text_features(**inputs)).float().cpu().numpy())
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.concatenate(rows))

    def embed_images(self, images: list[Any]) -> np.ndarray:
        import torch

        pil_images = as_pil_images(images)
        image_processor = getattr(self.processor, "image_processor", self.processor)
        rows = []
        for start in range(0, len(pil_images), self.batch_size):
            inputs = image_processor(images=pil_images[start : start + self.batch_size], return_tensors="pt")
            pixels = inputs["pixel_values"].to(self.device, dtype=self.dtype)
            with torch.inference_mode():
                rows.append(_features(self.model.get_image_features(pixel_values=pixels)).float().cpu().numpy())
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.concatenate(rows))


def load_hf_embedder(rest: str, device: str | None = None, batch_size: int = 32, **_: Any) -> HFEmbedder:
    """Load `hf:<hub-id-or-folder>` as a CLIP/SigLIP dual encoder (fp16 on CUDA)."""
    import torch
    from transformers import AutoModel, AutoProcessor

    path = Path(rest).expanduser()
    local = path.is_dir()
    source = str(path) if local else rest
    model_id = f"hf:{path.resolve()}" if local else f"hf:{rest}"
    from vlmcult.models.devices import resolve_device

    device = resolve_device(device)
    dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
    try:
        model = AutoModel.from_pretrained(source, dtype=dtype, local_files_only=local)
        processor = AutoProcessor.from_pretrained(source, local_files_only=local)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(
            f"cannot load {rest!r} as a transformers CLIP/SigLIP model ({first}); offline, pass a local folder"
        ) from None
    if not (hasattr(model, "get_text_features") and hasattr(model, "get_image_features")):
        raise ModelError(f"hf:{rest} ({type(model).__name__}) is not a dual encoder with text and image towers")
    model.to(device).eval()
    return HFEmbedder(model, processor, model_id, device=device, batch_size=batch_size)
