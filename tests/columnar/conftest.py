"""What the columnar tests share: a ruleset the columnar engine refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from swrules.rulesets import builtin_dir


@pytest.fixture
def refused_ruleset(tmp_path: Path) -> Path:
    """dingnan-2020 as a file whose salary-floor rule divides outside round(…), which the compiler refuses."""
    text = (builtin_dir() / "dingnan-2020.toml").read_text(encoding="utf-8")
    changed = text.replace("required = p.reference_salary,\n}", "required = p.reference_salary / 2,\n}")
    assert changed != text
    path = tmp_path / "refused" / "dingnan-2020.toml"
    path.parent.mkdir()
    path.write_text(changed, encoding="utf-8")
    return path
