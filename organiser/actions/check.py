"""The drift check: compare each settled record with what DataCite holds, page by page of
the account's listing, and (asked to) mark what drifted so that the normal passes put it
right. The local copy wins. A check only reads DataCite (its listing, ``GET /dois``): it never
changes anything there; the passes do that for what it marks."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from organiser.actions import alerts, binding
from organiser.app import App
from organiser.config_schema import DEFAULT_ACCOUNT
from organiser.datacite.client import DataCiteClient, DoiPage
from organiser.datacite.errors import SystemicError, TransientError
from organiser.domain.metadata import Difference, differences
from organiser.domain.passes import pass_for
from organiser.domain.states import SETTLED_REMOTE, SETTLED_STATES, Action, State, transition
from organiser.engine.effects import payload
from organiser.engine.retry import retrying
from organiser.errors import Outage
from organiser.storage import notices, queries, records
from organiser.storage.models import Record

log = structlog.get_logger("organiser.check")

MISSING = "(missing)"
MAILED_LINES = 50  # differences listed in the email digest; the rest are counted


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference between a local record and DataCite."""

    doi: str
    identifier: str
    field: str
    local: str
    remote: str
    repair: str  # what --repair does (or did) about it

    def line(self) -> str:
        """Give the drift as one tab-separated line: DOI, identifier, field, local, DataCite."""
        return "\t".join((self.doi, self.identifier, self.field, self.local, self.remote))


@dataclass
class CheckResult:
    """What a check compared and found."""

    compared: int = 0  # settled records compared with DataCite's copy
    drifts: list[Drift] = field(default_factory=list)  # every line: the drifted and the missing
    drifted: int = 0  # records DataCite holds, with at least one difference
    missing: int = 0  # settled records whose DOI DataCite does not list (not counted drifted)
    unknown: int = 0  # DOIs DataCite lists that have no record here
    waiting: int = 0  # records waiting for a pass: their pass sends them anyway
    repaired: int = 0  # records marked for update or to be sent again
    complete: bool = True  # False when --limit stopped the listing early
    alert_warning: str | None = None  # why the findings could not be mailed, if so

    def summary(self) -> str:
        """Give the one-line summary of the check: each record is counted under one heading
        (a DOI missing at DataCite is missing, not drifted too)."""
        differences = len(self.drifts) - self.missing  # a missing DOI is one line of its own
        text = (
            f"check: {self.compared} compared, {self.drifted} drifted "
            f"({differences} differences), {self.missing} missing at DataCite, "
            f"{self.unknown} at DataCite only, {self.waiting} waiting for a pass"
        )
        if not self.complete:
            text += "; stopped at --limit (records missing at DataCite not looked for)"
        return text + (f"; {self.repaired} marked for repair" if self.repaired else "")


def check(
    app: App,
    actor: str,
    limit: int | None = None,
    repair: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> CheckResult:
    """Compare every settled record with DataCite's listings of every account; give the
    result.

    ``limit`` stops after that many DataCite DOIs (a sample: records missing at DataCite are
    then not looked for). With ``repair``, a drifted reserved or registered record is marked
    for update (its local metadata is sent again) and one whose DOI DataCite lacks is marked
    to be sent again; deleted records are only reported. ``progress(seen, total)`` is called
    after each page. Raises ``LockHeld`` while a run holds this host's lock, ``Outage`` when
    DataCite cannot be read, ``ConfigError`` without a DataCite account.
    """
    with app.datacite() as clients, app.run_lock.held_for():
        app.open_db()
        binding.guard(app, actor, bind=False)  # compares with the endpoint it is bound to
        result, seen = CheckResult(), set()
        listed, total = 0, 0
        for client in clients.values():  # every account's listing, one after the other
            for number, page in enumerate(listing(app, client)):
                total += (page.total or 0) if number == 0 else 0
                local = records.by_dois(item["doi"].lower() for item in page.records)
                for item in page.records:
                    if limit is not None and listed >= limit:
                        result.complete = False
                        break
                    listed += 1
                    doi = item["doi"].lower()
                    seen.add(doi)
                    record = local.get(doi)
                    if record is None:
                        result.unknown += 1
                    else:
                        _compare(record, item, result, repair, app, actor)
                if progress:
                    progress(listed, total if limit is None else limit)
                if not result.complete:
                    break
            if not result.complete:
                break
        if result.complete:
            for record in queries.present_except(seen):
                if (record.account or DEFAULT_ACCOUNT) not in clients:
                    continue  # its account's listing was not read: nothing known of it
                wanted = SETTLED_REMOTE[_compared_as(record)]
                _found(record, [Difference("state", wanted, MISSING)], result, repair, app, actor)
        log.info("check finished", **{k: v for k, v in vars(result).items() if k != "drifts"})
        _note(app, result)
        result.alert_warning = alerts.send_pending(app)
        return result


def _note(app: App, result: CheckResult) -> None:
    """Keep the findings for the email digest (the same findings are mailed once)."""
    if not result.drifts:
        notices.note_drift("", None, app.clock())
        return
    every = [drift.line() for drift in result.drifts]
    detail = {
        "at": app.clock().isoformat(" ", "minutes"),
        "summary": result.summary(),
        "lines": every[:MAILED_LINES],
        "differences": len(every),
        "repaired": result.repaired,
    }
    fingerprint = hashlib.sha256("\n".join(every).encode()).hexdigest()
    notices.note_drift(fingerprint, detail, app.clock())


def listing(app: App, client: DataCiteClient, **filters: Any) -> Iterator[DoiPage]:
    """Give the account's DOIs page by page, each page retried as a record's request is;
    raise :class:`Outage` when DataCite cannot be read (after those retries)."""
    dc = app.config["datacite"]
    retry = retrying(dc["retries"], dc["backoff"], dc["max_backoff"], time.sleep)
    try:
        yield from client.list_dois(retry=retry, **filters)
    except (TransientError, SystemicError) as exc:
        raise Outage(f"DataCite unavailable while listing the account: {exc}") from None


def _compare(
    record: Record, held: dict[str, Any], result: CheckResult, repair: bool, app: App, actor: str
) -> None:
    status = _compared_as(record)
    if status not in SETTLED_STATES:
        result.waiting += 1
        return
    result.compared += 1
    found = []
    if held.get("state") != SETTLED_REMOTE[status]:
        found.append(Difference("state", SETTLED_REMOTE[status], str(held.get("state"))))
    if status is not State.DELETED:  # a hidden DOI's metadata is not organiser's any more
        found += differences(payload(record), held)
    if found:
        _found(record, found, result, repair, app, actor)


def _compared_as(record: Record) -> State:
    """Give the status whose DataCite state ``record`` is compared with: its own, or for a
    published record whose change waits in update-review, registered (DataCite keeps it)."""
    status = State(record.status)
    if status is State.UPDATE_REVIEW and record.prior_status == State.REGISTERED:
        return State.REGISTERED
    return status


def _found(
    record: Record,
    found: Iterable[Difference],
    result: CheckResult,
    repair: bool,
    app: App,
    actor: str,
) -> None:
    found = list(found)
    status = State(record.status)
    if status is State.DELETED:
        plan = "reported only (a check never deletes at DataCite)"
        action = None
    elif status is State.REVIEW and found[0].remote != MISSING:
        plan = "reported only (in review: reject it, then check again)"
        action = None
    elif status is State.UPDATE_REVIEW:  # a repair would drop the change held for review
        plan = "reported only (a change in review: approve or reject it, then check again)"
        action = None
    elif found[0].remote == MISSING:
        action = Action.MARK_RECREATE
        again = pass_for(transition(status, action).state)
        plan = f"sent again ({again.name if again else 'no pass'})"
    else:
        plan, action = "local metadata sent again (update)", Action.MARK_UPDATE
    if found[0].remote == MISSING:
        result.missing += 1  # one heading per record: missing, or drifted
    else:
        result.drifted += 1
    for difference in found:
        result.drifts.append(
            Drift(
                record.doi,
                record.identifier,
                difference.field,
                difference.local,
                difference.remote,
                plan,
            )
        )
    if repair and action is not None:
        records.mark(record, action, actor, app.clock())
        result.repaired += 1
