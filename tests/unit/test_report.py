"""The HTML report: structure, figures that add up, escaping, no external resources, and a real render."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import zlib
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import pytest

from swrules import evaluate, load_facts, parse_json
from swrules.cli import main
from swrules.load import FactSet
from swrules.report import WHOLE_PERIOD, cost_by_community, obligations_by_month, render
from swrules.result import Result

EXAMPLE = Path(str(resources.files("swrules") / "examples" / "dingnan-2020.json"))
CHROMIUM = Path("/usr/bin/chromium")


@attrs.define
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None
    children: list[Node] = attrs.Factory(list)
    text: list[str] = attrs.Factory(list)

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def find(self, tag: str, cls: str | None = None) -> list[Node]:
        out = []
        for child in self.children:
            if child.tag == tag and (cls is None or cls in child.attrs.get("class", "").split()):
                out.append(child)
            out += child.find(tag, cls)
        return out


_VOID = {"meta", "br", "rect", "line", "img", "link", "input", "hr"}


class TreeParser(HTMLParser):
    """A small DOM: enough to find tables, cells and SVG shapes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.current = self.root
        self.tags: Counter[str] = Counter()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attributes}
        self.tags[tag] += 1
        self.urls += [v for k, v in values.items() if k in ("src", "href", "xlink:href", "action", "srcset")]
        node = Node(tag, values, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attributes)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.text.append(data)


def parse(text: str) -> TreeParser:
    parser = TreeParser()
    parser.feed(text)
    parser.close()
    return parser


def rows(table: Node) -> list[list[str]]:
    return [[cell.all_text().strip() for cell in tr.find("td")] for tr in table.find("tr") if tr.find("td")]


def money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


@pytest.fixture(scope="module")
def example() -> tuple[Result, FactSet]:
    facts = load_facts(parse_json(EXAMPLE.read_bytes()))
    return evaluate(facts, ruleset="dingnan-2020", period="2021", engine="native"), facts


@pytest.fixture(scope="module")
def page(example: tuple[Result, FactSet]) -> str:
    return render(*example)


def test_self_contained(page: str) -> None:
    doc = parse(page)
    assert doc.tags["script"] == 0 and doc.tags["link"] == 0 and doc.tags["img"] == 0 and doc.tags["iframe"] == 0
    assert doc.tags["style"] == 1
    assert all(url.startswith("#") for url in doc.urls), [u for u in doc.urls if not u.startswith("#")]
    assert "url(" not in page and "@import" not in page
    # Every in-page link points at an element that exists.
    ids = {n.attrs["id"] for n in _walk(doc.root) if "id" in n.attrs}
    assert {u[1:] for u in doc.urls} <= ids


def _walk(node: Node) -> list[Node]:
    out = [node]
    for child in node.children:
        out += _walk(child)
    return out


def test_headline_totals(example: tuple[Result, FactSet], page: str) -> None:
    result, _ = example
    doc = parse(page)
    (table,) = doc.root.find("table", "obligations-by-payer")
    body = rows(table)
    total = sum((ob.amount or Decimal(0) for ob in result.obligations), Decimal(0))
    assert body[-1][0] == "total" and money(body[-1][3]) == total and int(body[-1][2]) == len(result.obligations)
    assert sum(money(r[3]) for r in body[:-1]) == total
    assert {(r[0], r[1]) for r in body[:-1]} == {(ob.kind.value, ob.payer) for ob in result.obligations}
    (summary,) = doc.root.find("table", "findings-summary")
    unmet = sum(int(r[2]) for r in rows(summary))
    assert unmet == sum(1 for f in result.findings if f.satisfied is False) > 0
    cards = [c.all_text() for c in doc.root.find("div", "card")]
    assert any(f"{unmet}findings not satisfied" == c for c in cards)


def test_monthly_chart_and_table(example: tuple[Result, FactSet], page: str) -> None:
    result, _ = example
    table = obligations_by_month(result)
    assert list(table) == [f"2021-{m:02d}" for m in range(1, 13)]
    assert WHOLE_PERIOD not in table  # every obligation falls due in a month: exam rewards in theirs
    grand = sum((v for row in table.values() for v in row.values()), Decimal(0))
    assert grand == sum((ob.amount or Decimal(0) for ob in result.obligations), Decimal(0))
    doc = parse(page)
    svgs = doc.root.find("svg")
    assert len(svgs) == 2
    monthly_bars = svgs[0].find("rect", "bar")
    nonzero = sum(1 for row in table.values() for v in row.values() if v > 0)
    assert len(monthly_bars) == nonzero >= 12
    assert all(Decimal(b.attrs["height"]) > 0 for b in monthly_bars)
    heights = {Decimal(b.attrs["height"]) for b in monthly_bars}
    assert len(heights) > 3  # bars are scaled to their amounts, not drawn alike
    (month_table,) = doc.root.find("table", "obligations-by-month")
    assert [r[0] for r in rows(month_table)] == [*table, "total"]


def test_cost_per_community(example: tuple[Result, FactSet], page: str) -> None:
    result, facts = example
    totals = cost_by_community(result, facts)
    assert sum(totals.values(), Decimal(0)) == sum((ob.amount or Decimal(0) for ob in result.obligations), Decimal(0))
    assert list(totals.values()) == sorted(totals.values(), reverse=True)
    doc = parse(page)
    bars = doc.root.find("svg")[1].find("rect", "bar")
    assert len(bars) == len(totals)
    widths = [Decimal(b.attrs["width"]) for b in bars]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    (table,) = doc.root.find("table", "cost-by-community")
    assert {r[0]: money(r[1]) for r in rows(table)} == totals


def test_shortfalls_and_explanations(example: tuple[Result, FactSet], page: str) -> None:
    result, _ = example
    doc = parse(page)
    unmet = [f for f in result.findings if f.satisfied is False]
    shortfall_rows = [r for t in doc.root.find("table", "shortfall") for r in rows(t)]
    assert sorted((r[0], r[2], r[3]) for r in shortfall_rows) == sorted(
        (f.subject, str(f.actual), str(f.required)) for f in unmet
    )
    details = doc.root.find("details", "explanation")
    assert len(details) == len(result.findings)
    for f, node in zip(result.findings, details, strict=True):
        text = node.all_text()
        spec = result.ruleset.rule(f.rule)
        assert f.clause in text and spec.text in text and spec.reading in text
        assert f"{result.ruleset.id}/{f.rule}" in text
        for name in spec.definition.param_names():
            assert name in text
    staffing = next(n for n in details if "community_social_work_post" in n.all_text())
    assert staffing.find("table", "parameters")


def test_text_is_escaped(tmp_path: Path) -> None:
    nasty = '<script>alert("x")</script>&amp;'
    facts = load_facts(
        {
            "facts": [
                {"type": "community", "id": nasty, "kind": "urban"},
                {"type": "person", "id": "p1", "role": "community_worker", "community": nasty},
                {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-03-01"},
            ]
        }
    )
    result = evaluate(facts, ruleset="dingnan-2020", period="2021", engine="native")
    result = attrs.evolve(result, ruleset=attrs.evolve(result.ruleset, title="标题 <b>bold</b> & co"))
    page = render(result, facts)
    doc = parse(page)
    assert doc.tags["script"] == 0 and doc.tags["b"] >= 1  # the only <b> are the report's own
    assert nasty in page.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    assert "<script>" not in page and "标题 &lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    (table,) = doc.root.find("table", "cost-by-community")
    assert rows(table)[0][0] == nasty


def test_chinese_community_labels_fit_the_chart() -> None:
    # Chinese characters are about twice as wide as Latin ones: a label counted in characters
    # overflows the gutter and loses its start at the chart's edge, showing a different name.
    long_name, short_name = "历市镇历市社区居民委员会服务站第一分站", "天九镇天九社区"
    facts = load_facts(
        {
            "facts": [{"type": "community", "id": name, "kind": "urban"} for name in (long_name, short_name)]
            + [
                {"type": "person", "id": f"p{i}", "role": "community_worker", "community": name}
                for i, name in enumerate((long_name, short_name))
            ]
            + [
                {
                    "type": "certificate",
                    "id": f"k{i}",
                    "holder": f"p{i}",
                    "level": "assistant",
                    "obtained_on": "2021-03-01",
                }
                for i in range(2)
            ]
        }
    )
    result = evaluate(facts, ruleset="dingnan-2020", period="2021", engine="native")
    doc = parse(render(result, facts))
    labels = [t.all_text() for t in doc.root.find("svg")[-1].find("text") if t.attrs.get("text-anchor") == "end"]
    assert sorted(labels) == sorted([short_name, long_name[:12] + "…"])
    (table,) = doc.root.find("table", "cost-by-community")
    assert {r[0] for r in rows(table)} == {long_name, short_name}  # the table keeps the whole name


def test_empty_result_renders() -> None:
    facts = load_facts({"facts": [{"type": "community", "id": "c1", "kind": "rural"}]})
    result = evaluate(facts, ruleset="dingnan-2020", period="2021-06", engine="native")
    doc = parse(render(result, facts))
    assert not result.obligations
    assert doc.tags["svg"] == 0
    assert "No obligations in this period." in doc.root.all_text()


def test_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    args = ["report", str(EXAMPLE), "--ruleset", "dingnan-2020", "--period", "2021", "--engine", "native"]
    stdout = io.StringIO()
    assert main([*args, "--out", str(out)], out=stdout) == 0
    assert "findings" in stdout.getvalue()
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and parse(text).tags["svg"] == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"facts": [{"type": "person", "id": "p1"}]}))
    assert main(["report", str(bad), "--ruleset", "dingnan-2020", "--period", "2021", "--out", str(out)]) == 2
    assert "role: is required" in capsys.readouterr().err
    assert main([*args[:-2], "--out", str(tmp_path / "no" / "dir" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err  # refused before evaluating


# --- a real browser, when the machine has one --------------------------------------------------


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (no interlace) into rows of raw pixel bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    out: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            corner = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        out.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i : i + bpp][:3]) for r in out for i in range(0, stride, bpp * 7)]


@pytest.mark.skipif(not CHROMIUM.is_file(), reason="no chromium at /usr/bin/chromium")
def test_renders_in_a_headless_browser(tmp_path: Path, page: str) -> None:
    html_path = tmp_path / "report.html"
    html_path.write_text(page, encoding="utf-8")
    shot = tmp_path / "shot.png"
    cmd: list[Any] = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        html_path.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    assert shot.is_file(), done.stderr.decode(errors="replace")[-2000:]
    width, height, pixels = _png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 2000)
    colours = Counter(pixels)
    assert len(colours) > 50  # text, tables and the chart colours, not a blank page
    blank_share = colours.most_common(1)[0][1] / len(pixels)
    assert blank_share < 0.98
    # The monthly chart's bars are drawn: its exam-reward colour is on screen.
    assert colours[bytes.fromhex("3b6ea8")] > 100
