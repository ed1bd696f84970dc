"""`hf:<hub-id-or-folder>`: a transformers vision-language model (AutoProcessor + AutoModelForImageTextToText).

Requests become chat messages (the system prompt, then one user turn with the images and text parts in
order), go through the processor's own chat template, and are generated greedily in batches with left
padding. The processor's `apply_chat_template(tokenize=True)` hands images over as one list per sample,
which every processor accepts (Idefics3/SmolVLM need it; LLaVA/Qwen flatten it).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from vlmcult.errors import ModelError, error_line
from vlmcult.types import Request

DEFAULT_BATCH_SIZE = 8


def _looks_like_path(rest: str) -> bool:
    return rest.startswith(("/", ".", "~")) or os.path.exists(rest) or rest.count("/") > 1 or "\\" in rest


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe of the Hub endpoint: without it, an offline download retries for minutes."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # behind a proxy a direct probe says nothing; let huggingface_hub try
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _torch_dtype(dtype: Any, device: str) -> Any:
    import torch

    if dtype is None or dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
        "float16": torch.float16,
        "fp16": torch.float16,
        "half": torch.float16,
        "float32": torch.float32,
        "fp32": torch.float32,
        "float": torch.float32,
    }
    if str(dtype) not in names:
        raise ModelError(f"unknown dtype {dtype!r} for hf model (choose from: bfloat16, float16, float32)")
    return names[str(dtype)]


class HFVLM:
    """A loaded transformers VLM. `generate(requests)` returns one text (or Exception) per request."""

    multiple_choice_only = False

    def __init__(
        self,
        spec: str,
        source: str,
        model: Any,
        processor: Any,
        device: str,
        max_new_tokens: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.spec = spec  # as the user wrote it: run records compare specs, not resolved paths
        self.id = f"hf:{source}"
        self.model = model
        self.processor = processor
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.batch_size = max(1, int(batch_size))
        self.dtype = next(model.parameters()).dtype

    # -- building inputs -------------------------------------------------------------------------------------

    @staticmethod
    def messages(request: Request) -> list[dict[str, Any]]:
        """The chat messages for one request: optional system turn, then a user turn with parts in order."""
        content: list[dict[str, Any]] = []
        for part in request.parts:
            if isinstance(part, str):
                content.append({"type": "text", "text": part})
            else:
                content.append({"type": "image", "image": part})
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": [{"type": "text", "text": request.system}]})
        messages.append({"role": "user", "content": content})
        return messages

    def inputs(self, requests: list[Request]) -> Any:
        """Tokenised, left-padded model inputs for a batch, on the model's device and dtype."""
        import torch

        conversations = [self.messages(request) for request in requests]
        batch = self.processor.apply_chat_template(
            conversations,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            processor_kwargs={"padding": True},
        )
        moved = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.device, dtype=self.dtype) if value.is_floating_point() else value.to(self.device)
            moved[key] = value
        return moved

    def first_step_logits(self, requests: list[Request]) -> Any:
        """Next-token logits at the last prompt position, shape (batch, vocab), float32 on CPU.

        Tests compare these for a batch against one request at a time (left padding must not change them).
        """
        import torch

        inputs = self.inputs(requests)
        with torch.inference_mode():
            logits = self.model(**inputs).logits
        return logits[:, -1, :].float().cpu()

    # -- generation --------------------------------------------------------------------------------------------

    def _budget(self, request: Request) -> int:
        return int(self.max_new_tokens if self.max_new_tokens is not None else request.max_new_tokens)

    def generate_ids(self, requests: list[Request]) -> list[list[int]]:
        """New token ids per request for one batch, each cut to its request's budget (trailing padding removed)."""
        import torch

        inputs = self.inputs(requests)
        budgets = [self._budget(request) for request in requests]
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=max(budgets), do_sample=False, num_beams=1)
        new_tokens = output[:, inputs["input_ids"].shape[1] :].tolist()
        pad_id = self.model.generation_config.pad_token_id
        results = []
        # Greedy decoding: a shorter budget's output is a prefix of the longer run, so cutting is exact.
        for tokens, budget in zip(new_tokens, budgets, strict=True):
            tokens = tokens[:budget]
            while tokens and tokens[-1] == pad_id:
                tokens.pop()
            results.append(tokens)
        return results

    def _generate_batch(self, requests: list[Request]) -> list[str]:
        tokenizer = self.processor.tokenizer
        return [tokenizer.decode(ids, skip_special_tokens=True).strip() for ids in self.generate_ids(requests)]

    def generate(self, requests: list[Request]) -> list[str | Exception]:
        """Greedy answers in request order; a request that fails on its own gets its Exception in its slot."""
        results: list[str | Exception] = []
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start : start + self.batch_size]
            try:
                results.extend(self._generate_batch(chunk))
            except Exception as batch_error:  # noqa: BLE001 - isolate the failing request(s)
                if len(chunk) == 1:
                    results.append(batch_error)
                    continue
                for request in chunk:
                    try:
                        results.extend(self._generate_batch([request]))
                    except Exception as error:  # noqa: BLE001
                        results.append(error)
        return results


def load(
    rest: str,
    device: str | None = None,
    dtype: Any = None,
    trust_remote_code: bool = False,
    max_new_tokens: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    **_: Any,
) -> HFVLM:
    """Load `hf:<rest>`, where `rest` is a local folder or a Hub id (fetched only when the Hub is reachable)."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vlmcult.models.devices import resolve_device

    device = resolve_device(device)  # a bad or absent device is one line before any weights load
    torch_dtype = _torch_dtype(dtype, device)

    source = rest
    options: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if _looks_like_path(rest):
        folder = Path(rest).expanduser()
        if not folder.is_dir():
            raise ModelError(f"hf model folder not found: {folder} (pass an existing folder or a Hub id)")
        source = str(folder.resolve())
        if not (folder / "config.json").is_file():
            raise ModelError(
                f"{folder} is not a transformers model folder (no config.json): pass one saved with save_pretrained"
            )
    else:
        try:
            # the local cache first, so a cached model loads without any network access
            AutoProcessor.from_pretrained(rest, local_files_only=True, trust_remote_code=trust_remote_code)
            options["local_files_only"] = True
        except Exception:  # noqa: BLE001 - not cached (or broken cache): the Hub is the only other source
            if not hub_reachable():
                raise ModelError(
                    f"Hub model {rest!r} is not in the local cache and the Hub cannot be reached (offline); "
                    f"download it where there is network or pass a local folder: hf:/path/to/{rest.split('/')[-1]}"
                ) from None

    try:
        processor = AutoProcessor.from_pretrained(source, **options)
    except Exception as error:  # noqa: BLE001 - transformers raises many types for a bad folder
        raise ModelError(
            f"{source} is not a vision-language model folder (its processor does not load): {error_line(error)}"
        ) from None
    if not hasattr(processor, "tokenizer") or not hasattr(processor, "image_processor"):
        raise ModelError(
            f"{source} is not a vision-language model: its processor {type(processor).__name__} has no image processor"
        )
    try:
        model = AutoModelForImageTextToText.from_pretrained(source, dtype=torch_dtype, **options)
    except Exception as error:  # noqa: BLE001
        raise ModelError(
            f"{source} is not a vision-language model transformers can load with AutoModelForImageTextToText: "
            f"{error_line(error)}"
        ) from None
    try:
        model.to(device).eval()
    except (RuntimeError, AssertionError, ValueError) as error:  # no such device, or CUDA missing
        raise ModelError(f"cannot put the model on device {device!r}: {error_line(error)} (try --device cpu)") from None

    tokenizer = processor.tokenizer
    tokenizer.padding_side = "left"  # batched decoder-only generation needs left padding
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return HFVLM(f"hf:{rest}", source, model, processor, device, max_new_tokens=max_new_tokens,
                 batch_size=batch_size)
