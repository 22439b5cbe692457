"""Rule templates of the rewards family."""

from __future__ import annotations
