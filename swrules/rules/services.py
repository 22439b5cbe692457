"""Rule templates of the services family."""

from __future__ import annotations
