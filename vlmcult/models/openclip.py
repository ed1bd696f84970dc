"""`openclip:<arch>[@<pretrained-tag-or-checkpoint>]` and `openclip:local-dir:<folder>`.

One object, two roles:
- a multiple-choice scorer (the standard zero-shot CLIP baseline): each request's image is compared with
  the text embedding of every option and the label of the most similar option is the answer. It cannot
  answer open-ended questions (`multiple_choice_only = True`).
- an Embedder for retrieval and diversity metrics: L2-normalised float32 image and text embeddings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlmcult.errors import ConfigError, DataError, ModelError, did_you_mean, error_line
from vlmcult.models.hf import hub_reachable
from vlmcult.types import Request

DEFAULT_BATCH_SIZE = 64
LOCAL_DIR = "local-dir:"


@contextlib.contextmanager
def _hub_cache_only(enabled: bool) -> Iterator[None]:
    """While enabled, huggingface_hub uses only its cache (offline, it would otherwise retry for minutes)."""
    from huggingface_hub import constants

    saved = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = saved or enabled
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved


def _default_labels(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


class OpenClipModel:
    """A loaded open_clip model: multiple-choice scorer and Embedder."""

    multiple_choice_only = True

    def __init__(
        self, spec: str, model_id: str, model: Any, preprocess: Any, tokenizer: Any, device: str, batch_size: int
    ) -> None:
        self.spec = spec
        self.id = model_id
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.dim = int(self.embed_texts(["a photo"]).shape[1])

    # -- Embedder ---------------------------------------------------------------------------------------------

    def embed_images(self, images: list[Any]) -> Any:
        """(n, dim) float32, L2-normalised image embeddings."""
        import numpy as np
        import torch

        chunks = []
        for start in range(0, len(images), self.batch_size):
            batch = torch.stack(
                [self.preprocess(image.convert("RGB")) for image in images[start : start + self.batch_size]]
            )
            with torch.inference_mode():
                chunks.append(self.model.encode_image(batch.to(self.device), normalize=True).float().cpu().numpy())
        if not chunks:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def embed_texts(self, texts: list[str]) -> Any:
        """(n, dim) float32, L2-normalised text embeddings."""
        import numpy as np
        import torch

        chunks = []
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(list(texts[start : start + self.batch_size]))
            with torch.inference_mode():
                chunks.append(self.model.encode_text(tokens.to(self.device), normalize=True).float().cpu().numpy())
        if not chunks:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)

    # -- multiple-choice scorer -------------------------------------------------------------------------------

    def generate(self, requests: list[Request]) -> list[str | Exception]:
        """The label of the option most similar to the request's image; an error instance where that is undefined."""
        results: list[str | Exception | None] = [None] * len(requests)
        scorable: list[int] = []
        for i, request in enumerate(requests):
            if not request.choices:
                results[i] = ConfigError(
                    "openclip is a multiple-choice scorer: this request has no answer options (choices)"
                )
            elif len(request.images) != 1:
                results[i] = DataError(
                    f"openclip scores one image against the options; this request has {len(request.images)} images"
                )
            elif request.choice_labels is not None and len(request.choice_labels) != len(request.choices):
                results[i] = DataError(f"{len(request.choice_labels)} choice labels for {len(request.choices)} choices")
            else:
                scorable.append(i)
        if scorable:
            image_embeddings = self.embed_images([requests[i].images[0] for i in scorable])
            option_texts = [text for i in scorable for text in requests[i].choices or []]
            text_embeddings = self.embed_texts(option_texts)
            offset = 0
            for row, i in enumerate(scorable):
                choices = requests[i].choices or []
                similarities = text_embeddings[offset : offset + len(choices)] @ image_embeddings[row]
                offset += len(choices)
                labels = requests[i].choice_labels or _default_labels(len(choices))
                results[i] = labels[int(similarities.argmax())]
        return results  # type: ignore[return-value]


def _short_list(names: list[str], limit: int = 6) -> str:
    if not names:
        return "none"
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def _parse(rest: str) -> tuple[str, str | None, Path | None]:
    """-> (architecture or 'local-dir', pretrained tag or checkpoint, local folder)."""
    if rest.startswith(LOCAL_DIR):
        folder = Path(rest[len(LOCAL_DIR) :]).expanduser()
        if not folder.is_dir():
            raise ModelError(f"open_clip folder not found: {folder} (openclip:local-dir:<folder>)")
        if not (folder / "open_clip_config.json").is_file():
            raise ModelError(f"{folder} has no open_clip_config.json: it is not an open_clip model folder")
        return LOCAL_DIR, None, folder.resolve()
    arch, _, pretrained = rest.partition("@")
    return arch, pretrained or None, None


def load(rest: str, device: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE, **_: Any) -> OpenClipModel:
    """Load `openclip:<rest>` on the GPU when there is one."""
    from vlmcult.models.devices import resolve_device

    device = resolve_device(device)  # a bad --device fails before open_clip is imported
    import open_clip

    arch, pretrained, folder = _parse(rest)
    spec = f"openclip:{rest}"

    if folder is not None:
        name, model_id, create_kwargs = f"{LOCAL_DIR}{folder}", f"openclip:{LOCAL_DIR}{folder}", {}
    else:
        if arch not in open_clip.list_models():
            raise ModelError(f"unknown open_clip architecture {arch!r}{did_you_mean(arch, open_clip.list_models())}")
        tags = open_clip.list_pretrained_tags_by_model(arch)
        if pretrained is None:
            raise ModelError(
                f"openclip:{arch} needs pretrained weights: write openclip:{arch}@TAG "
                f"(tags: {_short_list(tags)}) or openclip:{arch}@/path/to/checkpoint"
            )
        if pretrained in tags:
            model_id = f"openclip:{arch}@{pretrained}"
        elif Path(pretrained).expanduser().is_file():
            pretrained = str(Path(pretrained).expanduser().resolve())
            model_id = f"openclip:{arch}@{pretrained}"
        else:
            raise ModelError(
                f"{pretrained!r} is neither a pretrained tag of open_clip {arch} nor a checkpoint file"
                f"{did_you_mean(pretrained, tags) if tags else ''}"
            )
        name, create_kwargs = arch, {"pretrained": pretrained}

    online = hub_reachable()
    try:
        with _hub_cache_only(not online):
            model, _, preprocess = open_clip.create_model_and_transforms(name, device=device, **create_kwargs)
            tokenizer = open_clip.get_tokenizer(name)
    except Exception as error:  # noqa: BLE001 - open_clip raises RuntimeError/OSError/ValueError
        if folder is None and pretrained in tags:
            why = "the download failed" if online else "the Hub cannot be reached (offline)"
            raise ModelError(
                f"pretrained weights for {model_id} are not in the local cache and {why}; pass a checkpoint "
                f"(openclip:{arch}@/path/to/weights) or a folder (openclip:local-dir:<folder>)"
            ) from None
        raise ModelError(f"cannot load open_clip model {spec}: {error_line(error)}") from None
    model.eval()
    return OpenClipModel(spec, model_id, model, preprocess, tokenizer, device, batch_size)
