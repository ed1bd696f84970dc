"""Errors: one line that says what is wrong and how to fix it. The CLI prints it and exits 2."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any


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


def error_line(exc: BaseException) -> str:
    """One line for an error: a VlmcultError's message, an OSError's reason and file name, or
    'Type: first line' for any other (library) exception."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, VlmcultError):
        return first or type(exc).__name__
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def run_command(action: Callable[[], Any], prefix: str = "",
                interrupted: str = "interrupted: finished items are saved; rerun the same command to resume") -> Any:
    """Run a command's body: a user or file system error is `error: <one line>` on stderr and exit code 2,
    Ctrl-C is exit code 130. Every entry point (the CLI, the track scripts) goes through here."""
    import sys

    try:
        return action()
    except (VlmcultError, OSError) as exc:
        print(f"error: {prefix}{error_line(exc)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        sys.exit(130)
