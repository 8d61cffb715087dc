"""What the command line prints: one JSON document on a channel of its own, fixed-width tables, and the error
type that becomes one line on stderr with exit status 2."""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


# Where `print_json` writes: while a --json command runs, the only stream that reaches the real stdout.
_JSON_OUT: contextvars.ContextVar[TextIO | None] = contextvars.ContextVar("json_out", default=None)


def print_json(obj: Any) -> None:
    out = _JSON_OUT.get() or sys.stdout
    json.dump(obj, out, indent=1, allow_nan=False)
    out.write("\n")
    out.flush()


@contextlib.contextmanager
def json_channel() -> Iterator[None]:
    """While a --json command runs, stdout carries exactly one JSON document.

    Anything else written to stdout, from Python (`print`) or from a library's C code (HiGHS prints a banner
    on file descriptor 1), is sent to stderr; `print_json` writes to the real stdout on a channel of its own.
    """
    real = sys.stdout
    real.flush()
    saved: int | None = None
    try:
        if real.fileno() == 1:
            saved = os.dup(1)
            os.dup2(2, 1)
            real = open(saved, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - closed below
    except (AttributeError, OSError, io.UnsupportedOperation):
        saved = None  # a captured stream (pytest, an IDE): no file descriptor to guard
    token = _JSON_OUT.set(real)
    previous, sys.stdout = sys.stdout, sys.stderr
    try:
        yield
    finally:
        sys.stdout = previous
        _JSON_OUT.reset(token)
        if saved is not None:
            real.flush()
            real.close()
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width text table."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(c: Any) -> str:
    if isinstance(c, float):
        return f"{c:.4g}"
    return str(c)
