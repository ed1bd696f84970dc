"""Resolve a `--device` string before any weights load: a bad or absent device is one ModelError line."""

from __future__ import annotations

from vlmcult.errors import ModelError


def resolve_device(device: str | None) -> str:
    """`device`, checked against torch and the hardware; None means CUDA when present, else CPU."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    text = str(device).strip()
    try:
        parsed = torch.device(text)
    except (RuntimeError, ValueError, TypeError):
        raise ModelError(f"device {text!r} is not a torch device; use cpu, cuda or cuda:N") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(f"device {text!r} is not available here (no CUDA GPU); use --device cpu")
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise ModelError(
                f"device {text!r} is not available here ({count} CUDA GPU(s): cuda:0 to cuda:{count - 1})"
            )
    elif parsed.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ModelError(f"device {text!r} is not available here (no Apple MPS); use --device cpu")
    elif parsed.type not in ("cpu", "meta"):
        backend = getattr(torch, parsed.type, None)  # torch.xpu, torch.mtia, ... where torch has one
        is_available = getattr(backend, "is_available", None)
        if callable(is_available) and not is_available():
            raise ModelError(f"device {text!r} is not available here (no {parsed.type} device); use --device cpu")
    return text
