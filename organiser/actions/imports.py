"""``organiser import``: load what a DataCite account already holds into the local database.
It only reads DataCite (its listing, ``GET /dois``): nothing is ever sent there.

The account is listed page by page (cursor pagination, through the run's rate limiter, each
page retried on transient errors as a pass retries a record) and each page is written in one
transaction (:mod:`organiser.storage.imported`), so an import cut short keeps the pages it
finished and a second run completes it. Only one page is held at a time: memory does not grow
with the account.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from organiser.actions import binding
from organiser.app import App
from organiser.config_schema import DEFAULT_ACCOUNT
from organiser.datacite.client import DataCiteClient
from organiser.datacite.errors import PermanentError, SystemicError, TransientError
from organiser.domain.identifiers import DoiScheme, normalise_doi
from organiser.domain.states import DATACITE_STATES, IMPORTED_STATES
from organiser.engine.retry import retrying
from organiser.engine.stop import StopFlag
from organiser.errors import Interrupted, UserError
from organiser.intake.formats import datacite_json, pds4
from organiser.intake.model import InputError
from organiser.storage import imported
from organiser.storage.imported import KEPT, NEW, REFRESHED, SKIPPED, UNCHANGED, Outcome, Remote

log = structlog.get_logger("organiser.import")

ACTOR = "organiser import"
_PREFIX = re.compile(r"^10\.\d{4,9}$")
_PDS = re.compile(r"\b(?:planetary data system|pds)\b", re.IGNORECASE)


class ListingRefused(UserError):
    """DataCite refused to list the account (e.g. 400 for a filter, 403); exit 2."""


@dataclass(frozen=True)
class Request:
    """What to import: the whole account, or the DOIs with this ``prefix``, in this
    ``state``, changed at DataCite since ``since``; ``dry_run`` writes nothing."""

    prefix: str | None = None
    state: str | None = None
    since: datetime | None = None
    page_size: int = 1000
    dry_run: bool = False


@dataclass
class Result:
    """What an import did: outcomes counted, DataCite's total, and why it stopped early."""

    counts: Counter[str] = field(default_factory=Counter)
    total: int | None = None
    outage: str | None = None  # DataCite unreachable or refusing the account: exit 75
    interrupted: str | None = None  # a signal's name

    def summary(self, dry_run: bool = False) -> str:
        """Give the one-line summary (``import: 2500 imported, 0 refreshed, …``)."""
        names = [NEW, REFRESHED, UNCHANGED, KEPT] + ([SKIPPED] if self.counts[SKIPPED] else [])
        parts = ", ".join(f"{self.counts[n]} {n}" for n in names)
        if dry_run:
            return f"import (dry run, nothing written): would be {parts}"
        return f"import: {parts}"


class Observer:
    """Hooks to follow an import (progress, per-DOI output); they do nothing here."""

    def started(self, total: int | None) -> None:
        """The first page came: DataCite lists ``total`` DOIs (None if it did not say)."""

    def page_done(self, outcomes: list[Outcome]) -> None:
        """A page was judged (and, unless dry, written): one outcome per DOI."""


def parse_since(text: str) -> datetime:
    """Give ``--since`` (a date or an ISO 8601 time; UTC when no zone is given) as naive
    UTC. Raises :class:`UserError` with a one-line message."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"--since {text!r}: not a date (use YYYY-MM-DD or an ISO 8601 time such as "
            "2024-05-01T12:00:00Z)"
        ) from None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def check_prefix(prefix: str) -> str:
    """Give ``prefix`` if it is a DOI prefix (``10.NNNN``). Raises :class:`UserError`."""
    if not _PREFIX.match(prefix):
        raise UserError(f"--prefix {prefix!r}: not a DOI prefix (10. and 4 to 9 digits)")
    return prefix


def import_account(
    app: App, request: Request, stop: StopFlag, observer: Observer | None = None
) -> Result:
    """Import the DOIs that ``request`` selects of every account (of those holding
    ``request.prefix``, if one is given and any does), one after the other; give what was
    done. Each DOI's record is the account's whose listing gives it.

    Unless dry, holds the host's run lock (an import and a run never overlap). A DataCite
    outage (unreachable after the retries, credentials refused, not DataCite's API) or a stop
    request ends it early, with ``outage``/``interrupted`` set: the pages written so far stay.

    Raises ``ConfigError`` without a DataCite account, ``LockHeld`` when a run holds the lock,
    :class:`ListingRefused` when DataCite refuses the listing itself, and the database's
    errors (the page being written is then not written at all).
    """
    observer = observer or Observer()
    with app.datacite() as clients:  # their connections are closed after the import
        for client in clients.values():
            client.before_request = stop.check  # a signal cuts waits for the rate limit short
        accounts = app.accounts
        walked = [a.name for a in accounts.all if request.prefix in (None, *a.prefixes)]
        settings = app.settings()
        retry = retrying(settings.retries, settings.backoff, settings.max_backoff, stop.sleep)
        lock = contextlib.nullcontext() if request.dry_run else app.run_lock.held_for()
        result = Result()
        with lock:
            _open(app, request.dry_run)
            binding.guard(app, ACTOR, bind=not request.dry_run)  # the endpoint it imports from
            try:
                for name in walked or [a.name for a in accounts.all]:
                    _import_one(app, name, clients[name], request, retry, result, observer, stop)
            except (TransientError, SystemicError) as exc:
                result.outage = str(exc)
            except PermanentError as exc:
                raise ListingRefused(f"DataCite refused the listing: {exc}") from None
            except Interrupted as exc:
                result.interrupted = str(exc)
    log.info(
        "import finished",
        dry_run=request.dry_run,
        outage=result.outage,
        interrupted=result.interrupted,
        **{n: result.counts[n] for n in (NEW, REFRESHED, UNCHANGED, KEPT, SKIPPED)},
    )
    return result


def _open(app: App, dry_run: bool) -> None:
    """Open the database; for a dry run without one, an empty database in memory instead
    (a dry run writes nothing, not even an empty file: everything would be imported).
    Raises as :meth:`App.open_db` does."""
    if not dry_run:
        app.open_db()
        return
    from organiser.storage.database import NoDatabase, open_database

    app.creates_db = False
    try:
        app.open_db()
    except NoDatabase:
        open_database("sqlite:///:memory:")


def _import_one(
    app: App,
    account: str,
    client: DataCiteClient,
    request: Request,
    retry: Any,
    result: Result,
    observer: Observer,
    stop: StopFlag,
) -> None:
    """Import the DOIs ``account``'s listing gives (through its ``client``) into ``result``.
    Raises what :func:`import_account` handles: DataCite's errors, ``Interrupted``."""
    pages = client.list_dois(
        prefix=request.prefix,
        state=request.state,
        updated_since=request.since,
        page_size=request.page_size,
        retry=retry,
    )
    for number, page in enumerate(pages):
        if number == 0:
            if page.total is not None:
                result.total = (result.total or 0) + page.total
            observer.started(page.total)
        remotes, skipped = _remotes(page.records, app.nodes, account)
        outcomes = imported.import_page(remotes, ACTOR, app.clock(), write=not request.dry_run)
        outcomes += skipped
        result.counts.update(o.outcome for o in outcomes)
        observer.page_done(outcomes)
        stop.check()


def _remotes(
    records: list[dict[str, Any]], nodes: Mapping[str, str], account: str = DEFAULT_ACCOUNT
) -> tuple[list[Remote], list[Outcome]]:
    """Give the listed records (of ``account``'s listing) as :class:`Remote` DOIs, and the
    outcomes of those that cannot be imported (no DOI, an unknown state)."""
    remotes: list[Remote] = []
    skipped: list[Outcome] = []
    for raw in records:
        remote = remote_of(raw, nodes)
        if isinstance(remote, Remote):
            remotes.append(replace(remote, account=account))
        else:
            doi = str(raw.get("doi") or "")
            skipped.append(Outcome(doi, doi, SKIPPED, "", raw.get("state"), remote))
    return remotes, skipped


def remote_of(raw: dict[str, Any], nodes: Mapping[str, str]) -> Remote | str:
    """Give a listed DOI (its attributes as DataCite answers) in local terms, or why it
    cannot be imported."""
    doi = normalise_doi(str(raw.get("doi") or ""))
    if doi is None:
        return f"{raw.get('doi')!r} is not a DOI"
    state = raw.get("state")
    if state not in IMPORTED_STATES:
        return f"DataCite state {state!r} is none of {', '.join(DATACITE_STATES)}"
    url = raw.get("url")
    url = url if isinstance(url, str) and url.startswith(("http://", "https://")) else None
    attributes = attributes_of(doi, raw)
    return Remote(
        doi=doi,
        state=state,
        attributes=attributes,
        url=url,
        identifier=identifier_of(attributes, doi),
        node=node_of(attributes, nodes),
        updated=_time(raw.get("updated")),
    )


def attributes_of(doi: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Give the metadata a record keeps of DataCite's attributes, as intake reads DataCite
    JSON: DataCite's own fields (doi, prefix, suffix, state, xml, created, updated, counts…)
    dropped, empty values left out, ``types`` reduced to what a client writes."""
    scheme = DoiScheme(doi.split("/", 1)[0])
    # the url keeps intake from refusing a DOI with no identifier (the url is not part of the
    # attributes it gives); DataCite's JSON attributes are complete, so its ``xml`` copy of
    # them is not decoded again
    readable = {k: v for k, v in raw.items() if k != "xml"}
    readable["url"] = f"https://doi.org/{doi}"
    try:
        return datacite_json.metadata(doi, readable, scheme).attributes
    except InputError:  # DataCite holds it, so it is imported as it is
        return {k: v for k, v in raw.items() if k in datacite_json.WRITABLE}


def identifier_of(attributes: dict[str, Any], doi: str) -> str:
    """Give the PDS4 LIDVID in ``identifiers`` (else ``alternateIdentifiers``), whatever
    type it is labelled with, else the DOI itself (never the url: landing pages are shared)."""
    for value in _identifier_values(attributes):
        with contextlib.suppress(pds4.LabelError):
            return pds4.check_lidvid(value)
    return doi


def _identifier_values(attributes: dict[str, Any]) -> Iterator[str]:
    pairs = (("identifiers", "identifier"), ("alternateIdentifiers", "alternateIdentifier"))
    for key, name in pairs:
        for entry in attributes.get(key) or []:
            if isinstance(entry, dict) and isinstance(entry.get(name), str):
                yield entry[name].strip()


def node_of(attributes: dict[str, Any], nodes: Mapping[str, str]) -> str | None:
    """Give the steward node named by the DataCurator contributor when it is a PDS node
    ("Planetary Data System: Imaging Node", "PDS Small Bodies Node"), else None."""
    for contributor in attributes.get("contributors") or []:
        if not isinstance(contributor, dict) or contributor.get("contributorType") != "DataCurator":
            continue
        name = " ".join(str(contributor.get("name") or "").split())
        if not _PDS.search(name):
            continue
        found = [
            (len(long), node)
            for node, long in nodes.items()
            if re.search(rf"\b{re.escape(long)}\b", name, re.IGNORECASE)
        ]
        if found:
            return max(found)[1]
    return None


def _time(value: Any) -> datetime | None:
    """Give DataCite's ``updated`` as naive UTC (None if missing or unreadable)."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
