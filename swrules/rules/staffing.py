"""Rule templates of the staffing family."""

from __future__ import annotations
