"""The small data types every benchmark, backend and the runner share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class Request:
    """One chat-style model call.

    `parts` are the content parts in order: `str` for text, a `PIL.Image.Image` for an image.
    `choices` is set for multiple-choice questions: the option texts in letter order, so that a
    scorer backend (open_clip) can rank them; generative backends ignore it.
    """

    parts: list[Any]
    system: str | None = None
    max_new_tokens: int = 64
    choices: list[str] | None = None
    choice_labels: list[str] | None = None

    @property
    def text(self) -> str:
        """All text parts in order, as sent (backends pass each part on as it is): the recorded prompt."""
        return "".join(part for part in self.parts if isinstance(part, str))

    @property
    def images(self) -> list[Any]:
        return [part for part in self.parts if not isinstance(part, str)]


@dataclass
class Sample:
    """One benchmark item.

    `image` is what the runner decodes off the model's thread: raw bytes, a file path, a PIL
    image, a list of those, or None. `fields` holds the benchmark's own columns. `target` is the
    gold answer, or None when the label is hidden (the sample is then unscored).
    """

    id: str
    image: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    target: Any = None
    groups: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prediction:
    """One line of predictions.jsonl (contract)."""

    id: str
    variant: dict[str, str]
    prompt: str | list[str] | None
    output: str | list[str] | None
    parsed: Any
    target: Any
    scores: dict[str, float | None]
    groups: dict[str, Any]
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        record = {
            "id": self.id,
            "variant": self.variant,
            "prompt": self.prompt,
            "output": self.output,
            "parsed": self.parsed,
            "target": self.target,
            "scores": self.scores,
            "groups": self.groups,
            "error": self.error,
        }
        record.update(self.extra)
        return record
