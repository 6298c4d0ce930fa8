"""The list filters at scale (organiser.storage.queries, schema v9's indexes): each filter
gives exactly what its meaning says (case folding, ``*``/``?`` wildcards, ``%``, ``_`` and
``!`` literal) on every path a page may take, and an index serves each filter (judged on
the plans of the statements sent), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from organiser.actions import records as read
from organiser.actions.records import RecordFilter
from organiser.storage import queries
from organiser.storage import records as store
from organiser.storage.models import Record, database_proxy

NOW = datetime(2026, 11, 21, 12, 0, 0)
IDENTIFIERS = [
    "urn:nasa:pds:insight_cameras::1.0",
    "urn:nasa:pds:insight_cameras::1.1",
    "urn:nasa:pds:insightXcameras::1.0",
    "URN:NASA:PDS:Mixed_Case::2.0",
    "urn:nasa:pds:100%_sure::1.0",
    "urn:nasa:pds:bang!id::1.0",
    "urn:nasa:pds:étude_ÉTÉ::1.0",
    "urn:esa:psa:other::1.0",
    "urn:nasa:pds:insight_cameras:data::1.0",
    "urn:nasa:pds:no_version",
]
TITLES = [
    "InSight Cameras Bundle",
    "Étude des ÉTÉS",
    "100% literal_under!",
    "short",
    None,
]
SUBMITTERS = ["Ann@Example.org", "bob@example.org", None]
NODES = ["img", "GEO", None]
PATTERNS = [
    "urn:nasa:pds:insight_*",
    "URN:NASA:PDS:INSIGHT_CAMERAS",  # a LID: every version
    "urn:nasa:pds:insight_cameras::1.0",
    "urn:nasa:pds:insight_cameras::1",  # no wildcard: not a prefix
    "urn:nasa:pds:insight?cameras::1.0",
    "*cameras*",
    "*CAMERAS::1.?",
    "urn:nasa:pds:100%_sure::1.0",
    "*100%*",
    "*bang!id*",
    "urn:nasa:pds:ÉTUDE*",
    "*été*",
    "?rn:esa*",
    "*::1.0",
    "*",
    "urn:nasa:pds:mixed_case*",
]
SUBSTRINGS = ["cameras", "ÉTÉ", "été", "100%", "_", "!", "lit", "xyz", "s", "é", "l_u"]


def _fill(copies: int = 3) -> list[Record]:
    items = []
    for copy in range(copies):
        for n, identifier in enumerate(IDENTIFIERS):
            title = TITLES[n % len(TITLES)]
            items.append(
                store.NewRecord(
                    f"10.5072/q-{copy}-{n}",
                    True,
                    identifier if copy == 0 else f"{identifier}-{copy}",
                    json.dumps({"titles": [{"title": title}] if title else []}),
                    None,
                    node=NODES[n % len(NODES)],
                    submitter=SUBMITTERS[n % len(SUBMITTERS)],
                    title=title,
                )
            )
    made = store.insert_new(items, "test", NOW)
    for n, record in enumerate(made):  # days apart, for the date filters
        Record.update(updated_at=NOW - timedelta(days=n)).where(Record.id == record.id).execute()
    return list(Record.select().order_by(Record.id))


def _wildcard(pattern: str) -> Callable[[str | None], bool]:
    expression = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return lambda text: text is not None and re.fullmatch(expression, text.lower(), re.S)


def _expected(filters: RecordFilter, everything: list[Record]) -> list[int]:
    def meets(r: Record) -> bool:
        if filters.ids and not any(
            _wildcard(p)(r.identifier) or _wildcard(p)(r.lid) for p in filters.ids
        ):
            return False
        if filters.title and (r.title is None or filters.title.lower() not in r.title.lower()):
            return False
        if filters.submitters and (r.submitter or "").lower() not in {
            s.lower() for s in filters.submitters
        }:
            return False
        if filters.nodes and (r.node or "").lower() not in {n.lower() for n in filters.nodes}:
            return False
        when = r.updated_at
        if filters.since and when < datetime.combine(filters.since, datetime.min.time()):
            return False
        return not (filters.until and when.date() > filters.until)

    return [r.id for r in everything if meets(r)]


def _filters() -> Iterator[RecordFilter]:
    for pattern in PATTERNS:
        yield RecordFilter(ids=(pattern,))
    yield RecordFilter(ids=("*cameras*", "urn:esa*", "*100%*"))
    for text in SUBSTRINGS:
        yield RecordFilter(title=text)
    yield RecordFilter(submitters=("ANN@example.ORG",))
    yield RecordFilter(nodes=("geo", "IMG"))
    yield RecordFilter(
        since=(NOW - timedelta(days=9)).date(), until=(NOW - timedelta(days=3)).date()
    )
    yield RecordFilter(ids=("*cameras*",), title="cam", nodes=("img",))


#: (SORT_AT_MOST, WALK_FIRST): read through the index; walk a window that fills the page;
#: walk a window that does not, then the rest through the index
PATHS = [(5000, 20000), (1, 1000), (1, 3)]


@pytest.mark.parametrize(("sort_at_most", "walk_first"), PATHS)
def test_each_filter_gives_what_it_means_on_every_path(
    db: str, monkeypatch: pytest.MonkeyPatch, sort_at_most: int, walk_first: int
) -> None:
    everything = _fill()
    monkeypatch.setattr(queries, "SORT_AT_MOST", sort_at_most)
    monkeypatch.setattr(queries, "WALK_FIRST", walk_first)
    checked = 0
    for filters in _filters():
        expected = _expected(filters, everything)
        whole = [r.id for r in read.listing(filters)]
        assert whole == expected, filters
        paged, after = [], 0  # two at a time, as the API's cursor pages
        while batch := read.listing(filters, 2, after):
            paged += [r.id for r in batch]
            after = batch[-1].id
        assert paged == expected, filters
        checked += bool(expected)
    assert checked >= 25  # the filters find something: the comparison can fail


def test_the_reference_can_tell_literal_from_wildcard(db: str) -> None:
    """The literal characters really are literal: ``_`` in a pattern does not match X."""
    _fill(1)
    found = read.listing(RecordFilter(ids=("urn:nasa:pds:insight_cameras::1.0",)))
    assert [r.identifier for r in found] == ["urn:nasa:pds:insight_cameras::1.0"]
    found = read.listing(RecordFilter(ids=("urn:nasa:pds:insight?cameras::1.0",)))
    assert sorted(r.identifier for r in found) == [
        "urn:nasa:pds:insightXcameras::1.0",
        "urn:nasa:pds:insight_cameras::1.0",
    ]
    assert {r.title for r in read.listing(RecordFilter(title="été"))} == {"Étude des ÉTÉS"}


#: Filters and the indexes that may serve them (PostgreSQL; SQLite's plans are judged whole).
INDEXED = [
    (RecordFilter(ids=("urn:nasa:pds:insight_*",)), {"record_lower_identifier"}),
    (RecordFilter(ids=("URN:NASA:PDS:INSIGHT_CAMERAS",)), {"record_lower_identifier"}),
    (RecordFilter(ids=("*cameras*",)), {"record_trgm_identifier"}),
    (RecordFilter(title="cameras"), {"record_trgm_title"}),
    (RecordFilter(submitters=("ann@example.org",)), {"record_lower_submitter"}),
    (RecordFilter(nodes=("geo",)), {"record_lower_node"}),
    (
        RecordFilter(statuses=("reserved",)),
        {"record_status", "record_status_id", "record_status_updated"},
    ),
    (RecordFilter(dois=("10.5072/q-0-1",)), {"record_doi"}),
    (RecordFilter(since=date(2026, 11, 1), until=date(2026, 11, 2)), {"record_updated_at"}),
    (RecordFilter(accounts=("sbn",)), {"record_account"}),
]


@pytest.mark.parametrize(("filters", "indexes"), INDEXED, ids=lambda v: str(v)[:60])
def test_an_index_serves_each_filter(
    db: str, monkeypatch: pytest.MonkeyPatch, filters: RecordFilter, indexes: set[str]
) -> None:
    _fill()
    database = database_proxy.obj
    if db.startswith("sqlite"):
        plans = _sqlite_plans(database, monkeypatch, lambda: read.listing(filters, 50))
        walks = [line for line in plans if re.match(_RECORD_WALK, line)]
        assert plans and walks == [], plans
    else:
        used = _postgres_indexes(database, filters)
        assert used & indexes, used


def test_the_plan_check_can_fail(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A filter without an index (a title substring of two characters) walks the table."""
    _fill()
    if db.startswith("sqlite"):
        plans = _sqlite_plans(
            database_proxy.obj, monkeypatch, lambda: read.listing(RecordFilter(title="ca"), 50)
        )
        assert [line for line in plans if re.match(_RECORD_WALK, line)] != []
    else:
        assert _postgres_indexes(database_proxy.obj, RecordFilter(title="ca")) <= {
            "record_pkey",
            "record_trgm_title",  # a GIN index read whole: no trigram in two characters
        }


#: A plan line that reads the record table in id order, testing every row.
_RECORD_WALK = r"(SCAN|SEARCH) (t1|record)( |$)(USING INTEGER PRIMARY KEY \(rowid[<>]|$)"


def _sqlite_plans(database: Any, monkeypatch: pytest.MonkeyPatch, call: Callable) -> list[str]:
    sent: list[tuple[str, Any]] = []
    execute = database.execute_sql
    monkeypatch.setattr(
        database,
        "execute_sql",
        lambda sql, params=None, *a, **k: sent.append((sql, params)) or execute(sql, params),
    )
    call()
    monkeypatch.undo()
    return [
        row[-1]
        for sql, params in sent
        if not sql.startswith("EXPLAIN")
        for row in execute("EXPLAIN QUERY PLAN " + sql, params)
    ]


def _postgres_indexes(database: Any, filters: RecordFilter) -> set[str]:
    """Give the indexes PostgreSQL reads for the filter's records, sequential scans off (a
    few rows: the question is whether an index can serve it)."""
    sql, params = Record.select(Record.id).where(*filters.conditions()).sql()
    with database.atomic():
        database.execute_sql("SET LOCAL enable_seqscan = off")
        [(document,)] = database.execute_sql("EXPLAIN (FORMAT JSON) " + sql, params).fetchall()

    def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    return {n["Index Name"] for n in nodes(document[0]["Plan"]) if "Index Name" in n}
