"""Errors: one line that says what is wrong and how to fix it. The CLI prints it and exits 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class VlmcultError(Exception):
    """A user error: bad path, option, spec or schema. Its message is one line."""


class DataError(VlmcultError):
    """Input data is missing, malformed or of the wrong schema."""


class ModelError(VlmcultError):
    """A model spec cannot be resolved or loaded."""


class ConfigError(VlmcultError):
    """An unknown name, variant or option, or options that do not fit together."""


class IndexMismatch(VlmcultError):
    """A retrieval index was built with another encoder, dimension or metric."""


class SystemicFailure(VlmcultError):
    """Too many items failed: the error is in the set-up, not in single items."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean X?)' for the closest choice, or a list of choices when none is close."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (choose from: {', '.join(choices)})"
