"""The generated ruleset pages: complete, deterministic, and the committed ones current."""

from __future__ import annotations

import io
from pathlib import Path

import attrs
import pytest

from swrules.cli import main
from swrules.docgen import GENERATED_MARK, render_all, render_ruleset, shipped_rulesets, stale, write
from swrules.rulesets import Ruleset, builtin_dir, list_rulesets

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "rulesets"


@pytest.fixture(scope="module")
def rulesets() -> list[Ruleset]:
    return shipped_rulesets()


@pytest.fixture(scope="module")
def pages(rulesets: list[Ruleset]) -> dict[str, str]:
    return render_all(rulesets)


def test_committed_pages_are_current(pages: dict[str, str]) -> None:
    problems = stale(COMMITTED, None)
    assert not problems, (
        "docs/rulesets/ does not match the ruleset files: "
        + "; ".join(problems)
        + ". Run `swrules docs` in the repository root and commit the pages."
    )


def test_every_shipped_ruleset_has_a_page(rulesets: list[Ruleset], pages: dict[str, str]) -> None:
    ids = {r.id for r in rulesets}
    assert {r.id for r in list_rulesets()} < ids  # the policies, and the base layers besides
    assert any(r.kind == "base" for r in rulesets)
    assert set(pages) == {f"{i}.md" for i in ids} | {"index.md"}
    for i in ids:
        assert f"[{i}]({i}.md)" in pages["index.md"]


def test_pages_say_everything_about_each_rule(rulesets: list[Ruleset], pages: dict[str, str]) -> None:
    for r in rulesets:
        page = pages[f"{r.id}.md"]
        assert page.startswith(GENERATED_MARK + "\n")
        for text in (r.title, r.issuer, r.published.isoformat(), r.applies_from.isoformat(), *r.extends):
            assert text in page
        if r.document_number:
            assert r.document_number in page
        if r.title_en:
            assert r.title_en in page
        for spec in r.rules:
            section = page.split(f"### Rule `{spec.id}`\n", 1)[1].split("\n### Rule ", 1)[0]
            assert spec.logic.strip().splitlines()[0] in section and f"`{spec.clause}`" in section
            assert " ".join(spec.text.split()) in section
            assert " ".join(spec.reading.split()).replace("<", "&lt;").replace(">", "&gt;") in section
            for name in spec.definition.param_names():
                assert f"`{name}`" in section
                declared = spec.definition.params.get(name)
                if declared is not None:
                    assert " ".join(declared.doc.split()) in section.replace("\\|", "|")
            for a in spec.assumptions:
                assert f"**`{a.id}`**" in section
                assert " ".join(a.reason.split()) in section
                if a.parameter:
                    assert f"Switched by `{a.parameter}`" in section
        listing = page.split("## Assumptions\n", 1)[1]
        assert listing.count("\n| [`") == len(r.assumptions())


def test_parameter_values_are_shown(rulesets: list[Ruleset], pages: dict[str, str]) -> None:
    dingnan = pages["dingnan-2020.md"]
    assert "| `allowance.senior` | `260.00` | money |" in dingnan
    assert "`[community_worker]`" in dingnan  # a list parameter
    grades = pages["national-grades.md"]
    assert "| senior | 1 | 5 | 高级社会工作师一级 |" in grades  # the decision table, row by row


def test_output_is_deterministic_and_machine_independent(rulesets: list[Ruleset], pages: dict[str, str]) -> None:
    assert render_all(list(reversed(rulesets))) == pages
    root = str(builtin_dir())
    for text in pages.values():
        assert root not in text and str(REPO) not in text and ".toml" not in text
        assert text.endswith("\n") and "\r" not in text and " \n" not in text


def test_markdown_table_cells_are_escaped(rulesets: list[Ruleset]) -> None:
    r = next(r for r in rulesets if r.id == "dingnan-2020")
    spec = attrs.evolve(r.rules[0], clause="a|b", reading="x <y> | z")
    page = render_ruleset(attrs.evolve(r, rules=(spec, *r.rules[1:]), title="T | <b>"))
    assert "`a\\|b`" in page and "x &lt;y&gt; | z" in page and "T \\| &lt;b&gt;" in page and "<b>" not in page


def test_write_check_and_cleanup(tmp_path: Path, rulesets: list[Ruleset]) -> None:
    out = tmp_path / "pages"
    written = write(out, rulesets)
    assert sorted(p.name for p in written) == sorted(render_all(rulesets))
    assert stale(out, rulesets) == []
    (out / "dingnan-2020.md").write_text("edited by hand\n", encoding="utf-8")
    (out / "gone-2019.md").write_text(GENERATED_MARK + "\nold\n", encoding="utf-8")
    (out / "handwritten.md").write_text("# mine\n", encoding="utf-8")
    assert stale(out, rulesets) == [
        "dingnan-2020.md (out of date)",
        "gone-2019.md (no ruleset produces it any more)",
    ]
    write(out, rulesets)
    assert stale(out, rulesets) == []
    assert not (out / "gone-2019.md").exists() and (out / "handwritten.md").read_text() == "# mine\n"


def test_cli_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    buf = io.StringIO()
    assert main(["docs", "--check"], out=buf) == 1
    assert "run `swrules docs`" in buf.getvalue()
    assert main(["docs"], out=io.StringIO()) == 0  # default: docs/rulesets under the working directory
    assert (tmp_path / "docs" / "rulesets" / "index.md").is_file()
    assert main(["docs", "--check"], out=io.StringIO()) == 0
    other = tmp_path / "elsewhere"
    assert main(["docs", "--out", str(other)], out=io.StringIO()) == 0
    assert sorted(p.name for p in other.iterdir()) == sorted(p.name for p in (tmp_path / "docs" / "rulesets").iterdir())
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["docs", "--out", str(blocker / "x")], out=io.StringIO()) == 2
    assert "cannot write" in capsys.readouterr().err
