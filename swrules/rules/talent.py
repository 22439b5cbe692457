"""Rule templates of the talent family."""

from __future__ import annotations
