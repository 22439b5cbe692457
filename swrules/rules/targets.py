"""Rule templates of the targets family."""

from __future__ import annotations
