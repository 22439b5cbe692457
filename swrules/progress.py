"""A progress line on stderr for long command-line runs: shown on a terminal, silent when piped."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressLine"]


class ProgressLine:
    """Draws ``evaluating: step 2/3 [#######     ] 12,345/41,226`` in place, at most ten times a second."""

    def __init__(self, stream: TextIO | None = None, *, label: str = "evaluating", width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.width = width
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._drawn = False

    def __call__(self, stratum: int, strata: int, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + " " * (self.width - filled)
        self.stream.write(f"\r{self.label}: step {stratum + 1}/{strata} [{bar}] {done:,}/{total:,}")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the line (only if one was drawn)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
