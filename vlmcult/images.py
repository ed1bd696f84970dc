"""Image decoding with the checks a long run needs: a bad image is an item error, never a crash."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import Any

from vlmcult.errors import DataError

# Larger images are refused as decompression bombs (PIL warns at 89 MP and raises at 2x that;
# we refuse at the warning threshold so a hostile file never gets decoded at all).
MAX_PIXELS = 89_478_485


def decode_image(source: Any) -> Any:
    """bytes / path / {"bytes", "path"} dict / PIL image -> RGB PIL image, or DataError."""
    from PIL import Image

    if isinstance(source, Image.Image):
        return source.convert("RGB")
    if isinstance(source, dict):
        if source.get("bytes") is not None:
            source = source["bytes"]
        elif source.get("path"):
            source = source["path"]
        else:
            raise DataError("image field has neither bytes nor path")
    if source is None:
        raise DataError("sample has no image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise DataError("image is empty (0 bytes)")
        stream: Any = io.BytesIO(data)
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"image file not found: {path}")
        if path.stat().st_size == 0:
            raise DataError(f"image is empty (0 bytes): {path}")
        stream = path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise DataError(
                        f"image of {image.width}x{image.height} pixels exceeds the {MAX_PIXELS} pixel limit"
                        " (possible decompression bomb)"
                    )
                image.load()
                return image.convert("RGB")
    except DataError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataError(f"image refused as a possible decompression bomb: {exc}") from None
    except Exception as exc:  # PIL raises many types for corrupt or truncated data
        reason = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-f]+>", "", str(exc)).strip()
        raise DataError(f"image cannot be decoded: {type(exc).__name__}: {reason}".splitlines()[0]) from None


def decode_any(source: Any) -> Any:
    """A single image, a list of images, or None (text-only sample)."""
    if source is None:
        return None
    if isinstance(source, (list, tuple)):
        return [decode_image(item) for item in source]
    return decode_image(source)
