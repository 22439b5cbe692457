"""Rule templates of the coverage family."""

from __future__ import annotations
