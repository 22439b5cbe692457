"""A synthetic population written straight to a Parquet folder, in chunks of persons (numpy and pyarrow).

The proportions and histories are those of :mod:`swrules.population` (about 50 persons per community, three
in five communities rural, organizations of every kind, certificates for about a third of the people with
upgrades, posts some vacant, exam registrations, trainings, service projects, talent selections, one
jurisdiction; with ``histories``, that share of persons moves or leaves community work during the year and
that share of posts falls vacant). The random draws differ (numpy's generator, a chunk at a time), so the
facts are not those of ``swrules.population.generate(n)``, but they are as valid and as deterministic: the
same ``n``, ``seed``, ``year``, ``histories`` and ``chunk`` give the same files.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from swrules.columnar._schema import HOURS_SCALE, arrow_schema, columns
from swrules.facts import FACT_TYPES

__all__ = ["write_population"]

_ROLES: Final = (
    "community_worker",
    "institution_staff",
    "social_org_staff",
    "township_staff",
    "village_cadre",
    "other",
)
_ROLE_WEIGHTS: Final = (30, 15, 20, 10, 15, 10)
_BAND_TIERS: Final = (("junior", 1), ("junior", 2), ("intermediate", 1), ("intermediate", 2), ("intermediate", 3))
_SENIOR_TIERS: Final = (("senior", 1), ("senior", 2), ("senior", 3))
_HOURS: Final = (8, 16, 24, 40, 60)
_EPOCH: Final = date(1970, 1, 1)


def _day(d: date) -> int:
    return (d - _EPOCH).days


def _ids(prefix: str, numbers: np.ndarray[Any, Any], width: int) -> pa.Array:
    return pa.array([f"{prefix}{int(n):0{width}d}" for n in numbers], type=pa.string())


def _money(cents: np.ndarray[Any, Any], valid: np.ndarray[Any, Any] | None = None) -> pa.Array:
    """Cents as DECIMAL(22,2), built from the integers themselves: no float on the way."""
    n = len(cents)
    words = np.empty(2 * n, dtype=np.int64)
    words[0::2] = cents
    words[1::2] = np.right_shift(cents.astype(np.int64), 63)  # the sign, extended to 128 bits
    validity = None if valid is None else pa.py_buffer(np.packbits(valid.astype(np.uint8), bitorder="little"))
    nulls = 0 if valid is None else int(n - valid.sum())
    return pa.Array.from_buffers(pa.decimal128(22, 2), n, [validity, pa.py_buffer(words)], null_count=nulls)


def _dates(days: np.ndarray[Any, Any], valid: np.ndarray[Any, Any] | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask).view(pa.date32())


def _strings(values: np.ndarray[Any, Any], valid: np.ndarray[Any, Any] | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(values.astype(object), type=pa.string(), mask=mask)


class _Writer:
    """One Parquet file per fact type, a row group per chunk."""

    def __init__(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        self.folder = folder
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.counts = dict.fromkeys(FACT_TYPES, 0)

    def write(self, fact_type: str, data: dict[str, Any]) -> None:
        schema = arrow_schema(fact_type)
        n = len(next(iter(data.values())))
        if n == 0:
            return
        arrays = []
        for column in columns(fact_type):
            value = data.get(column.name)
            if value is None:
                arrays.append(pa.nulls(n, type=column.arrow))
            elif isinstance(value, pa.Array):
                arrays.append(value)
            else:
                arrays.append(pa.array(value, type=column.arrow))
        table = pa.Table.from_arrays(arrays, schema=schema)
        if fact_type not in self.writers:
            path = os.path.join(self.folder, f"{fact_type}.parquet")
            self.writers[fact_type] = pq.ParquetWriter(path, schema, compression="zstd")
        self.writers[fact_type].write_table(table)
        self.counts[fact_type] += n

    def close(self) -> dict[str, int]:
        for fact_type in FACT_TYPES:
            if fact_type not in self.writers:  # an empty file still says the type has no facts
                path = os.path.join(self.folder, f"{fact_type}.parquet")
                pq.write_table(arrow_schema(fact_type).empty_table(), path, compression="zstd")
        for writer in self.writers.values():
            writer.close()
        return self.counts


def _versions(n: int, changed: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """For n facts of which ``changed`` get a second version: the source row of each output row, and which
    output rows are second versions."""
    repeat = 1 + changed.astype(np.int64)
    source = np.repeat(np.arange(n), repeat)
    second = np.zeros(len(source), dtype=bool)
    starts = np.cumsum(repeat) - repeat
    second[starts[changed] + 1] = True
    return source, second


def write_population(
    folder: str,
    n_persons: int,
    *,
    histories: float = 0.05,
    seed: int = 0,
    year: int = 2021,
    chunk: int = 100_000,
) -> dict[str, int]:
    """Write a synthetic population of ``n_persons`` as a Parquet folder; returns the number of facts per type.

    Memory stays that of one chunk of persons (``chunk``) plus the organizations' first three staff.
    """
    out = _Writer(folder)
    try:
        _write(out, n_persons, histories, seed, year, chunk)
    finally:
        counts = out.close()
    return counts


def _write(out: _Writer, n: int, histories: float, seed: int, year: int, chunk: int) -> None:
    rng = np.random.default_rng([seed, n, year])
    n_comm = max(1, n // 50)
    n_groups = max(1, n // 200)
    out.write("jurisdiction", {"id": ["county"], "population": [max(1, n * 300)]})
    comm = np.arange(n_comm)
    out.write(
        "community",
        {
            "id": _ids("c", comm, 5),
            "kind": _strings(np.where(comm % 5 < 2, "urban", "rural")),
            "township": pa.array([f"t{i // 10:04d}" for i in comm], type=pa.string()),
        },
    )
    orgs: dict[str, list[Any]] = {k: [] for k in ("id", "kind", "primarily_social_work", "professional_posts")}
    orgs["community_level"] = []
    posts_of_inst = rng.integers(5, 30, size=n_groups)
    for g in range(n_groups):
        rows = [(f"o-inst-{g:05d}", "public_institution", g % 3 == 0, int(posts_of_inst[g]) if g % 3 == 0 else None)]
        rows.append((f"o-agency-{g:05d}", "social_work_agency", True, None))
        rows.extend((f"o-cso-{g:05d}-{k}", "community_social_org", False, None) for k in range(2))
        if g % 4 == 0:
            rows.append((f"o-town-{g:05d}", "township_government", False, None))
        for i, (ident, kind, primarily, posts) in enumerate(rows):
            orgs["id"].append(ident)
            orgs["kind"].append(kind)
            orgs["primarily_social_work"].append(primarily)
            orgs["professional_posts"].append(posts)
            orgs["community_level"].append(i == 0 and g % 2 == 1)
    out.write("organization", orgs)
    counters = dict.fromkeys(("certificate", "post", "exam_registration", "training", "talent_selection"), 0)
    first_staff = np.full((n_groups, 3), -1, dtype=np.int64)  # an agency's first three staff (its projects)
    for number, start in enumerate(range(0, n, chunk)):
        crng = np.random.default_rng([seed, n, year, 1 + number])
        _persons(
            out, crng, np.arange(start, min(n, start + chunk)), n_comm, n_groups, year, histories, counters, first_staff
        )
    vacant = np.arange(max(1, n // 100))
    out.write(
        "post",
        {
            "id": _ids("qv", vacant, 5),
            "band": _strings(np.full(len(vacant), "junior")),
            "tier": 1 + vacant % 2,
            "community": _ids("c", vacant % n_comm, 5),
            "social_work": np.ones(len(vacant), dtype=bool),
        },
    )
    agencies = np.arange(n_groups)
    funds = rng.integers(50_000, 500_000, size=n_groups)
    share = rng.uniform(0.5, 0.8, size=n_groups)
    out.write(
        "service_project",
        {
            "id": _ids("s", agencies, 5),
            "organization": _ids("o-agency-", agencies, 5),
            "funds": _money(funds * 100),
            "personnel_cost": _money((funds * share).astype(np.int64) * 100),
            "government_purchased": np.ones(n_groups, dtype=bool),
            "social_workers": [[f"p{int(p):06d}" for p in row if p >= 0] for row in first_staff],
        },
    )


def _persons(
    out: _Writer,
    rng: np.random.Generator,
    idx: np.ndarray[Any, Any],
    n_comm: int,
    n_groups: int,
    year: int,
    histories: float,
    counters: dict[str, int],
    first_staff: np.ndarray[Any, Any],
) -> None:
    k = len(idx)
    weights = np.array(_ROLE_WEIGHTS, dtype=float) / sum(_ROLE_WEIGHTS)
    role = rng.choice(len(_ROLES), size=k, p=weights)
    community = (idx // 50) % n_comm
    inst, social, town = role == 1, role == 2, role == 3
    # The employer: an institution, an agency (two in five social-organisation staff) or a community social
    # organisation, or a township government (one group in four has one).
    org = np.full(k, None, dtype=object)
    group = rng.integers(0, n_groups, size=k)
    to_agency = rng.random(k) < 0.4
    cso = rng.integers(0, 2, size=k)
    town_group = 4 * rng.integers(0, (n_groups + 3) // 4, size=k)
    org[inst] = [f"o-inst-{g:05d}" for g in group[inst]]
    agency_staff = social & to_agency
    org[agency_staff] = [f"o-agency-{g:05d}" for g in group[agency_staff]]
    org[social & ~to_agency] = [
        f"o-cso-{g:05d}-{c}" for g, c in zip(group[social & ~to_agency], cso[social & ~to_agency], strict=True)
    ]
    org[town] = [f"o-town-{g:05d}" for g in town_group[town]]
    for p, g in zip(idx[agency_staff], group[agency_staff], strict=True):
        free = np.flatnonzero(first_staff[g] < 0)
        if len(free):
            first_staff[g, free[0]] = p
    full_time = social & (rng.random(k) < 0.7)
    leader = social & (rng.random(k) < 0.15)
    education = social & (rng.random(k) < 0.3)
    paid = social & (rng.random(k) < 0.6)
    salary = rng.integers(2800, 5200, size=k) * 100 + rng.integers(0, 100, size=k)
    # Histories: from a day of the year on, a community worker leaves community work (half of them) or the
    # person moves to another community.
    year_start, year_end = _day(date(year, 1, 1)), _day(date(year, 12, 31))
    changed = rng.random(k) < histories
    change_day = rng.integers(year_start + 1, year_end + 1, size=k)
    leaves = changed & (role == 0) & (rng.random(k) < 0.5)
    moved_to = rng.integers(0, n_comm, size=k)
    src, second = _versions(k, changed)
    role_out = role[src].copy()
    role_out[second & leaves[src]] = 5
    comm_out = community[src].copy()
    comm_valid = np.ones(len(src), dtype=bool)
    comm_valid[second & leaves[src]] = False
    moving = second & ~leaves[src]
    comm_out[moving] = moved_to[src][moving]
    first_of_changed = np.zeros(len(src), dtype=bool)
    first_of_changed[np.flatnonzero(second) - 1] = True
    out.write(
        "person",
        {
            "id": _ids("p", idx[src], 6),
            "role": _strings(np.array(_ROLES)[role_out]),
            "community": _strings(np.array([f"c{c:05d}" for c in comm_out]), comm_valid),
            "organization": _strings(org[src], org[src] != None),  # noqa: E711 - elementwise
            "full_time": full_time[src],
            "leader": leader[src],
            "social_work_education": education[src],
            "monthly_salary": _money(salary[src], paid[src]),
            "reference_salary": _money(np.full(len(src), 380_000), paid[src]),
            "valid_from": _dates(change_day[src], second),
            "valid_until": _dates(change_day[src] - 1, first_of_changed),
        },
    )
    # Certificates: a third of the people, a quarter of them upgraded a year or more later.
    first_day, last_day = _day(date(year - 6, 1, 1)), _day(date(year, 12, 31))
    holds = rng.random(k) < 0.35
    obtained = rng.integers(first_day, last_day + 1, size=k)
    registered = rng.random(k) < 0.8
    upgraded = holds & (rng.random(k) < 0.25)
    earliest = obtained + 365
    upgrade_day = earliest + (rng.random(k) * (last_day + 400 - earliest + 1)).astype(np.int64)
    senior = rng.random(k) < 0.1
    holders = np.flatnonzero(holds)
    csrc, csecond = _versions(len(holders), upgraded[holders])
    who = holders[csrc]
    level = np.where(csecond, np.where(senior[who], "senior", "intermediate"), "assistant")
    numbers = counters["certificate"] + np.arange(len(who))
    counters["certificate"] += len(who)
    out.write(
        "certificate",
        {
            "id": _ids("k", numbers, 7),
            "holder": _ids("p", idx[who], 6),
            "level": _strings(level),
            "obtained_on": _dates(np.where(csecond, upgrade_day[who], obtained[who])),
            "registered": np.where(csecond, True, registered[who]),
        },
    )
    # Posts: three in ten institution staff and community workers hold one, at their employer or community.
    holds_post = ((role == 0) | inst) & (rng.random(k) < 0.3)
    common = rng.random(k) < 0.9
    pick = rng.integers(0, 15, size=k)
    grade = np.where(common, pick % len(_BAND_TIERS), len(_BAND_TIERS) + pick % len(_SENIOR_TIERS))
    grades = _BAND_TIERS + _SENIOR_TIERS
    not_social = rng.random(k) < 0.1
    vacated = rng.random(k) < histories
    vacated_on = rng.integers(year_start, year_end + 1, size=k)
    owners = np.flatnonzero(holds_post)
    psrc, psecond = _versions(len(owners), vacated[owners])
    who = owners[psrc]
    first_post = np.zeros(len(who), dtype=bool)
    first_post[np.flatnonzero(psecond) - 1] = True
    post_numbers = counters["post"] + np.cumsum(~psecond) - 1
    counters["post"] += len(owners)
    has_org = org[who] != None  # noqa: E711 - elementwise
    out.write(
        "post",
        {
            "id": _ids("q", post_numbers, 6),
            "band": _strings(np.array([grades[g][0] for g in grade[who]])),
            "tier": np.array([grades[g][1] for g in grade[who]], dtype=np.int64),
            "organization": _strings(org[who], has_org),
            "community": _strings(np.array([f"c{c:05d}" for c in community[who]]), ~has_org),
            "holder": _strings(np.array([f"p{p:06d}" for p in idx[who]]), ~psecond),
            "social_work": ~not_social[who],
            "valid_from": _dates(vacated_on[who], psecond),
            "valid_until": _dates(vacated_on[who] - 1, first_post),
        },
    )
    # Exam registrations (8 in 100), trainings (half the people, each of two years), selections (1 in 200).
    registers = np.flatnonzero(rng.random(k) < 0.08)
    exam_year = np.where(rng.random(k) < 0.5, year - 1, year)
    travel = rng.integers(0, 400, size=k) * 100 + rng.integers(0, 100, size=k)
    numbers = counters["exam_registration"] + np.arange(len(registers))
    counters["exam_registration"] += len(registers)
    out.write(
        "exam_registration",
        {
            "id": _ids("e", numbers, 6),
            "person": _ids("p", idx[registers], 6),
            "year": exam_year[registers].astype(np.int64),
            "registration_fee": _money(np.full(len(registers), 26_000)),
            "travel_cost": _money(travel[registers]),
        },
    )
    trained = rng.random((k, 2)) < 0.5
    person_of, which_year = np.nonzero(trained)  # row-major: each person's earlier year first
    hours_table = pa.array([Decimal(h) for h in _HOURS], type=pa.decimal128(20 + HOURS_SCALE, HOURS_SCALE))
    hours = hours_table.take(pa.array(rng.integers(0, len(_HOURS), size=len(person_of))))
    numbers = counters["training"] + np.arange(len(person_of))
    counters["training"] += len(person_of)
    out.write(
        "training",
        {
            "id": _ids("t", numbers, 7),
            "person": _ids("p", idx[person_of], 6),
            "year": (year - 1 + which_year).astype(np.int64),
            "hours": hours,
        },
    )
    selected = np.flatnonzero(rng.random(k) < 0.005)
    numbers = counters["talent_selection"] + np.arange(len(selected))
    counters["talent_selection"] += len(selected)
    out.write(
        "talent_selection",
        {
            "id": _ids("ts", numbers, 5),
            "person": _ids("p", idx[selected], 6),
            "year": np.full(len(selected), year, dtype=np.int64),
        },
    )
