"""Hostile ruleset files: deep keys, long and diamond-shaped ``extends`` chains, escaping bases, tiny exponents,
ids with a trailing newline. Each is refused with a ``RulesetError`` naming the file (exit 2), and quickly."""

from __future__ import annotations

import io
import os
import threading
import time
from contextlib import redirect_stderr
from decimal import Decimal
from pathlib import Path

import pytest

from swrules import rulesets
from swrules.cli import main
from swrules.errors import PeriodError, RulesetError
from swrules.period import Period
from swrules.rulesets import builtin_dir, load_ruleset

SHIPPED = (builtin_dir() / "dingnan-2020.toml").read_text(encoding="utf-8")
ZHEJIANG = (builtin_dir() / "zhejiang-2019.toml").read_text(encoding="utf-8")
EXAMPLE = str(Path(rulesets.__file__).parent / "examples" / "dingnan-2020.json")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


def _base(i: str, extends: list[str]) -> str:
    ext = ", ".join(f'"{e}"' for e in extends)
    return (
        f'[ruleset]\nid = "{i}"\nkind = "base"\ntitle = "t"\nissuer = "i"\n'
        f"published = 2020-01-01\napplies_from = 2020-01-01\nextends = [{ext}]\n"
    )


def _policy_over(tmp_path: Path, bases: list[str]) -> Path:
    """dingnan-2020 with its ``extends`` pointed at ``bases`` (which must lead to national-grades)."""
    ext = ", ".join(f'"{b}"' for b in bases)
    path = tmp_path / "county.toml"
    path.write_text(SHIPPED.replace('extends = ["national-grades"]', f"extends = [{ext}]"), encoding="utf-8")
    return path


# --- item: deep keys and headers ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[parameters]\n" + "a." * 2_000 + "b = 1\n",
        "[parameters]\n" + "a." * 40_000 + "b = 1\n",
        "[" + ".".join(["a"] * 20_000) + "]\nb = 1\n",
        "[[" + ".".join(["a"] * 5_000) + "]]\nb = 1\n",
        "[parameters]\nx = {" + "a." * 3_000 + "b = 1}\n",
        '[parameters]\n"a" . "b" . ' + '"c".' * 3_000 + "d = 1\n",
        "[parameters]\nx = " + "[" * 3_000 + "]" * 3_000 + "\n",
        "[parameters]\nx = " + "{a = " * 3_000 + "1" + "}" * 3_000 + "\n",
    ],
    ids=["key-2000", "key-40000", "header-20000", "array-header", "inline-key", "quoted-key", "arrays", "tables"],
)
def test_keys_with_too_many_parts_and_deep_nesting_are_refused_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(SHIPPED.split("[parameters]")[0] + text, encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    assert str(path) in str(info.value)
    assert "parts" in str(info.value) or "nested" in str(info.value)
    code, out, err = cli("evaluate", EXAMPLE, "--ruleset", str(path), "--period", "2021")
    assert code == 2 and out == "" and str(path) in err and "internal error" not in err


def test_dots_in_strings_comments_and_numbers_do_not_count_as_key_parts(tmp_path: Path) -> None:
    many = "." * 500
    text = SHIPPED.replace('notes = """', f'# {many}\nnotes = """{many}\\"""\n{many}\n')
    text = text.replace('title_en = "', f'title_en = \'{many}\' # {many}\nissuer_en = "{many}\\""\n#', 1)
    text = text.replace('issuer_en = "General', "# General", 1)
    path = tmp_path / "dots.toml"
    path.write_text(text, encoding="utf-8")
    ruleset = load_ruleset(path)
    assert ruleset.notes.startswith(many + '"""') and ruleset.title_en == many and ruleset.issuer_en == many + '"'


def test_a_chain_of_1500_extends_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "l0.toml").write_text(_base("l0", ["national-grades"]), encoding="utf-8")
    for i in range(1, 1500):
        (tmp_path / f"l{i}.toml").write_text(_base(f"l{i}", [f"l{i - 1}"]), encoding="utf-8")
    path = _policy_over(tmp_path, ["l1499"])
    with pytest.raises(RulesetError, match=r"extends.*deep") as info:
        load_ruleset(path)
    assert str(tmp_path) in str(info.value)
    code, _, err = cli("evaluate", EXAMPLE, "--ruleset", str(path), "--period", "2021")
    assert code == 2 and "deep" in err


def test_a_chain_within_the_bound_still_loads(tmp_path: Path) -> None:
    (tmp_path / "l0.toml").write_text(_base("l0", ["national-grades"]), encoding="utf-8")
    for i in range(1, 20):
        (tmp_path / f"l{i}.toml").write_text(_base(f"l{i}", [f"l{i - 1}"]), encoding="utf-8")
    ruleset = load_ruleset(_policy_over(tmp_path, ["l19"]))
    assert len(ruleset.sources) == 22


def test_a_ruleset_file_is_read_no_further_than_its_limit(tmp_path: Path) -> None:
    """A file whose size says nothing (a pipe, a device, a growing file) is cut at the limit, never read whole."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    sent: list[int] = []

    def write() -> None:
        try:
            with open(fifo, "wb") as fh:
                fh.write(SHIPPED.encode("utf-8"))
                chunk = b"#" + b"x" * 65_534 + b"\n"
                for _ in range(64):  # 4 MiB of comments, twice the limit
                    fh.write(chunk)
                    sent.append(len(chunk))
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with pytest.raises(RulesetError, match="at most") as info:
            rulesets._Loader()._read(fifo)
    finally:
        writer.join(timeout=30)
    assert str(fifo) in str(info.value)
    assert sum(sent) < 4 * 2**20


# --- item: diamonds -----------------------------------------------------------------------


def test_a_deep_diamond_of_extends_reads_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    depth = 16
    (tmp_path / "a0.toml").write_text(_base("a0", ["national-grades"]), encoding="utf-8")
    (tmp_path / "b0.toml").write_text(_base("b0", ["national-grades"]), encoding="utf-8")
    for i in range(1, depth + 1):
        for side in "ab":
            (tmp_path / f"{side}{i}.toml").write_text(_base(f"{side}{i}", [f"a{i - 1}", f"b{i - 1}"]), encoding="utf-8")
    path = _policy_over(tmp_path, [f"a{depth}", f"b{depth}"])
    files = 2 * (depth + 1) + 2  # the diamond, national-grades and the policy itself
    reads: list[Path] = []
    real = rulesets._Loader._read

    def counted(self: rulesets._Loader, p: Path) -> rulesets._Layer:
        reads.append(p)
        if len(reads) > files:
            raise AssertionError(f"{len(reads)} reads for {files} files")
        return real(self, p)

    monkeypatch.setattr(rulesets._Loader, "_read", counted)
    ruleset = load_ruleset(path)
    assert len(reads) == files and len(set(reads)) == files
    assert len(ruleset.sources) == files
    # bases come before what extends them, each once
    order = [Path(s).stem for s in ruleset.sources]
    assert order.index("national-grades") == 0 and order[-1] == "county"
    for i in range(1, depth + 1):
        assert order.index(f"a{i}") > max(order.index(f"a{i - 1}"), order.index(f"b{i - 1}"))


def test_a_circle_is_still_found_with_memoised_layers(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(_base("a", ["b", "national-grades"]), encoding="utf-8")
    (tmp_path / "b.toml").write_text(_base("b", ["a"]), encoding="utf-8")
    with pytest.raises(RulesetError, match="circle"):
        load_ruleset(_policy_over(tmp_path, ["a", "b"]))


# --- item: decimals with tiny or huge exponents --------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["1e-999999999", "0e-999999999", "0E+999999999", "1e-13", "0.0000000000001", "1" + "0" * 60, "0." + "0" * 80 + "1"],
)
def test_decimal_parameters_with_extreme_exponents_are_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "county.toml"
    path.write_text(
        SHIPPED.replace('coverage.certified_per_person = "0.001"', f'coverage.certified_per_person = "{value}"'),
        encoding="utf-8",
    )
    with pytest.raises(RulesetError, match=r"coverage\.certified_per_person") as info:
        load_ruleset(path)
    assert str(path) in str(info.value)
    with pytest.raises(RulesetError, match=r"coverage\.certified_per_person"):
        load_ruleset("dingnan-2020").with_parameters({"coverage.certified_per_person": value})
    with pytest.raises(RulesetError, match=r"allowance\.senior"):
        load_ruleset("dingnan-2020").with_parameters({"allowance.senior": value})


@pytest.mark.parametrize("value", [Decimal("1e-999999999"), Decimal("0E-50"), Decimal("1." + "0" * 40)])
def test_decimal_objects_from_python_are_bounded_too(value: Decimal) -> None:
    with pytest.raises(RulesetError, match=r"decimal places|digits"):
        load_ruleset("dingnan-2020").with_parameters({"coverage.certified_per_person": value})


@pytest.mark.parametrize("value", ["0.000000000001", "1E+3", "999999999999.999999999999", "0.70"])
def test_decimal_parameters_within_the_bounds_load(value: str) -> None:
    ruleset = load_ruleset("dingnan-2020").with_parameters({"coverage.certified_per_person": value})
    assert ruleset.parameters["coverage.certified_per_person"] == Decimal(value)


# --- item: extends stays beside the file or among the shipped rulesets ------------------------


@pytest.mark.parametrize(
    "ref",
    ["../outside", "/etc/passwd", "sub/inner", "..", "./national-grades", "..\\\\outside", "national-grades\n", ""],
)
def test_extends_accepts_ruleset_ids_only(tmp_path: Path, ref: str) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text('secret_key_of_another_file = "x"\n', encoding="utf-8")
    (tmp_path / "inner" / "sub").mkdir(parents=True)
    (tmp_path / "inner" / "sub" / "inner.toml").write_text(_base("inner", ["national-grades"]), encoding="utf-8")
    folder = tmp_path / "inner"
    path = _policy_over(folder, [ref.replace("\n", "\\n")])
    with pytest.raises(RulesetError, match=r"ruleset\.extends") as info:
        load_ruleset(path)
    assert "secret_key_of_another_file" not in str(info.value)
    assert str(path) in str(info.value)


def test_extends_by_id_still_finds_bases_beside_the_file_and_shipped(tmp_path: Path) -> None:
    (tmp_path / "mybase.toml").write_text(_base("mybase", ["national-grades"]), encoding="utf-8")
    ruleset = load_ruleset(_policy_over(tmp_path, ["mybase"]))
    assert [Path(s).stem for s in ruleset.sources] == ["national-grades", "mybase", "county"]


# --- item: ids are matched whole -----------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('id = "dingnan-2020"', 'id = "dingnan-2020\\n"', "ruleset.id"),
        ('id = "monthly-allowance"', 'id = "monthly-allowance\\n"', ".id"),
    ],
)
def test_ids_ending_in_a_newline_are_refused(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in SHIPPED
    path = tmp_path / "county.toml"
    path.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulesetError, match=key.replace(".", r"\.")):
        load_ruleset(path)


@pytest.mark.parametrize("text", ["2021\n", "2021-03\n"])
def test_periods_ending_in_a_newline_are_refused(text: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(text)


@pytest.mark.parametrize(
    "tail",
    [
        '"\\' * 100_000,
        "'x" * 100_000,
        '"""\\"""' * 30_000,
        '"""a"' * 40_000,
        "'''a'" * 40_000,
        "x = [" + "1," * 100_000,
    ],
    ids=["basic", "literal", "multi-line-basic", "open-basic", "open-literal", "commas"],
)
def test_the_shape_check_takes_linear_time_on_unclosed_strings(tail: str) -> None:
    """Every string token matches even unclosed, so none is scanned twice (quadratic: minutes; linear: ms)."""
    text = "x = 1\n" + "[a]\n" * 40 + tail
    started = time.perf_counter()
    try:
        rulesets._check_shape(text, "f.toml")
    except RulesetError:
        pass
    assert time.perf_counter() - started < 5


def test_a_ruleset_of_more_than_128_layer_files_is_refused_before_they_are_all_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"w{i}" for i in range(300)]
    for name in names:
        (tmp_path / f"{name}.toml").write_text(_base(name, ["national-grades"]), encoding="utf-8")
    reads: list[Path] = []
    real = rulesets._Loader._read

    def counted(self: rulesets._Loader, p: Path) -> rulesets._Layer:
        reads.append(p)
        return real(self, p)

    monkeypatch.setattr(rulesets._Loader, "_read", counted)
    with pytest.raises(RulesetError, match="more than 128 layer files"):
        load_ruleset(_policy_over(tmp_path, names))
    assert len(reads) <= 128
