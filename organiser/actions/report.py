"""The pending-release report: records in review, records approved and waiting for the
register pass, and records whose last try failed, per node and submitter, with their age.
As JSON (``organiser report --json``, the web API's ``GET /dois/check``), plain text, CSV,
and an email to the operators and the submitters concerned."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from typing import Any

import structlog
from peewee import fn

from organiser.actions.access import Actor, Forbidden, Role, require
from organiser.actions.cells import cell
from organiser.app import App
from organiser.domain.states import IN_REVIEW, State
from organiser.errors import UserError
from organiser.notify.mailer import MailError
from organiser.storage import queries
from organiser.storage.models import Record

log = structlog.get_logger("organiser.report")

#: Waiting for release: in review (a first release, or a change to a published DOI), or
#: approved (an update may go first).
PENDING_STATES = (*sorted(IN_REVIEW), State.TO_BE_REGISTERED, State.UPDATE_BEFORE_REGISTRATION)
CSV_COLUMNS = (
    "doi",
    "identifier",
    "title",
    "node",
    "submitter",
    "status",
    "age_days",
    "last_error",
)
DAY = 86400


@dataclass(frozen=True, slots=True)
class Pending:
    """One record of the report."""

    doi: str
    identifier: str
    title: str | None
    node: str | None
    submitter: str | None
    status: str
    updated_at: datetime
    age_seconds: int  # since the record last changed (marked, sent or tried)
    last_error: str | None

    @property
    def age_days(self) -> float:
        """The age in days, to a tenth."""
        return round(self.age_seconds / DAY, 1)

    def as_dict(self) -> dict[str, Any]:
        """Give the record as JSON-able values."""
        return {
            "doi": self.doi,
            "identifier": self.identifier,
            "title": self.title,
            "node": self.node,
            "submitter": self.submitter,
            "status": self.status,
            "updated_at": self.updated_at.isoformat(" ", "seconds"),
            "age_days": self.age_days,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class Report:
    """What is pending release at ``generated_at``, for one ``submitter`` or everyone;
    ``records`` ordered by node, submitter, then oldest first."""

    generated_at: datetime
    submitter: str | None
    records: tuple[Pending, ...]

    def groups(self) -> list[tuple[str | None, str | None, list[Pending]]]:
        """Give ``(node, submitter, records)`` per node and submitter, in order."""
        groups: dict[tuple[str | None, str | None], list[Pending]] = {}
        for record in self.records:
            groups.setdefault((record.node, record.submitter), []).append(record)
        return [(node, submitter, rows) for (node, submitter), rows in groups.items()]

    def counts(self) -> dict[str, int]:
        """Give how many records are in review, approved (to be registered) and failing
        (a record both approved and failing counts in both)."""
        return {
            "total": len(self.records),
            "review": sum(r.status in IN_REVIEW for r in self.records),
            "to_be_registered": sum(
                r.status in (State.TO_BE_REGISTERED, State.UPDATE_BEFORE_REGISTRATION)
                for r in self.records
            ),
            "failing": sum(r.last_error is not None for r in self.records),
        }

    def for_submitter(self, submitter: str) -> Report:
        """Give the part of the report about ``submitter``'s records (any case)."""
        wanted = submitter.lower()
        own = tuple(r for r in self.records if (r.submitter or "").lower() == wanted)
        return Report(self.generated_at, submitter, own)

    def submitters(self) -> list[str]:
        """Give the submitters of the records that are email addresses, each once."""
        seen: dict[str, str] = {}
        for record in self.records:
            if record.submitter and "@" in record.submitter:
                seen.setdefault(record.submitter.lower(), record.submitter)
        return list(seen.values())

    def as_dict(self) -> dict[str, Any]:
        """Give the report as JSON-able values: when, for whom, the counts, and the records
        per node and submitter."""
        return {
            "generated_at": self.generated_at.isoformat(" ", "seconds"),
            "submitter": self.submitter,
            "counts": self.counts(),
            "groups": [
                {
                    "node": node,
                    "submitter": submitter,
                    "records": [r.as_dict() for r in rows],
                }
                for node, submitter, rows in self.groups()
            ],
        }

    def subject(self, host: str) -> str:
        """Give the email subject."""
        counts = self.counts()
        whom = f" for {self.submitter}" if self.submitter else ""
        return (
            f"[organiser] pending release{whom} on {host}: {counts['review']} in review, "
            f"{counts['to_be_registered']} to be registered, {counts['failing']} failing"
        )

    def text(self) -> str:
        """Give the report as plain text: a summary line, then a block per node and
        submitter with one line per record (status, age, DOI, identifier, title) and its
        last error below it."""
        counts = self.counts()
        whom = f" for {self.submitter}" if self.submitter else ""
        lines = [
            f"Pending release{whom} at {self.generated_at.isoformat(' ', 'minutes')} UTC: "
            f"{counts['review']} in review, {counts['to_be_registered']} to be registered, "
            f"{counts['failing']} failing.",
        ]
        if not self.records:
            lines += ["", "Nothing is pending."]
        for node, submitter, rows in self.groups():
            lines += ["", f"node {node or '(none)'}, submitter {submitter or '(none)'}:"]
            for r in rows:
                title = f"  {r.title}" if r.title else ""
                lines.append(
                    f"  {r.status:<26} {_age(r.age_seconds):>8}  {r.doi}  {r.identifier}{title}"
                )
                if r.last_error:
                    lines.append(f"    last error: {r.last_error}")
        if counts["review"]:
            lines += [
                "",
                "Approve with 'organiser register ID...', send back with "
                "'organiser reject ID... --reason TEXT'.",
            ]
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        """Give the records as CSV text (a header row, then one row per record; the
        columns of :data:`CSV_COLUMNS`; text a spreadsheet would run as a formula behind a
        ``'``)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for r in self.records:
            row = r.as_dict()
            writer.writerow([cell(row[c]) for c in CSV_COLUMNS])
        return out.getvalue()


def _age(seconds: int) -> str:
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * DAY:
        return f"{seconds // 3600} h"
    return f"{seconds // DAY} days"


def pending(submitter: str | None, now: datetime) -> Report:
    """Give the report at ``now``: the records in review or to be registered, and those
    whose last try failed, of ``submitter`` (any case) or of everyone. Reads the database
    (open it first) and nothing else."""
    condition = Record.status.in_([str(s) for s in PENDING_STATES]) | Record.last_error.is_null(
        False
    )
    if submitter:
        condition = condition & (fn.LOWER(Record.submitter) == submitter.strip().lower())
    rows = queries.summaries(condition, Record.node, Record.submitter, Record.updated_at)
    return Report(now, submitter, tuple(_pending(rows, now)))


def _pending(rows: Iterable[Record], now: datetime) -> Iterable[Pending]:
    for r in rows:
        yield Pending(
            r.doi,
            r.identifier,
            r.title,
            r.node,
            r.submitter,
            r.status,
            r.updated_at,
            max(0, int((now - r.updated_at).total_seconds())),
            r.last_error,
        )


class NoMail(UserError):
    """Mail cannot be sent: ``[email] smtp_host`` is not set, or nobody would get it."""


class BadAddress(UserError):
    """The address of who asks for the report (``submitter``) is no email address."""


def asker_address(actor: Actor, text: str) -> str:
    """Give the address ``text`` (stripped) of who asks for the report, to add to its
    recipients: one plain email address (``local@domain``, no name, no list, no spaces; an
    ASCII local part, as the standard library's parser takes it).
    Raises :class:`BadAddress` naming ``submitter`` for anything else, and
    :class:`~organiser.actions.access.Forbidden` when a submitter token names another
    address than its own (an operator may name anyone)."""
    value = text.strip()
    try:
        parsed: Address | None = Address(addr_spec=value)
    except (ValueError, IndexError, MessageError):  # what the parser raises on a bad one
        parsed = None
    plain = re.fullmatch(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+", value) is not None
    if parsed is None or parsed.addr_spec != value or not plain:
        raise BadAddress(f"submitter {text!r}: not an email address")
    if actor.role is Role.SUBMITTER and actor.email and value.lower() != actor.email.lower():
        raise Forbidden(
            f"submitter {value!r}: {actor.label} may add only its own address "
            f"({actor.email}) to the report's recipients"
        )
    return value


def recipients(app: App, report: Report, asker: str | None = None) -> list[str]:
    """Give who :func:`send` mails ``report`` to: the alert recipients and ``asker`` (the
    whole report), then each submitter of its records who is an email address (their own
    records)."""
    return [address for to, _ in _mails(app, report, asker) for address in to]


def _mails(app: App, report: Report, asker: str | None = None) -> list[tuple[list[str], Report]]:
    """Give each mail of ``report``: the whole to ``[email] recipients`` and ``asker``, and
    to each submitter not among them the part about their own records."""
    operators = list(app.config["email"]["recipients"])
    if asker and asker.lower() not in {a.lower() for a in operators}:
        operators.append(asker)
    known = {a.lower() for a in operators}
    mails: list[tuple[list[str], Report]] = [(operators, report)] if operators else []
    for submitter in report.submitters():
        if submitter.lower() not in known:
            mails.append(([submitter], report.for_submitter(submitter)))
    return mails


def send(
    app: App, actor: Actor, report: Report, attachment: bool, asker: str | None = None
) -> str | None:
    """Mail ``report`` (submitters and operators only: a reader may read it, not mail it):
    the whole of it to ``[email] recipients`` and ``asker`` (who asks for it, the 0.2 API's
    ``submitter``) in one message, and to each submitter of its records who is an email
    address the part about their own records (a submitter among those gets the whole only).
    Nobody else is mailed. With ``attachment`` each mail carries its records as
    ``pending-release.csv``.

    Give a one-line warning when some mail could not be sent or some recipient was
    refused (the others still get theirs), None when every mail went out. Raises
    :class:`~organiser.actions.access.Forbidden` for a reader (or as
    :func:`asker_address` does), :class:`BadAddress` for an ``asker`` that is no email
    address, :class:`NoMail` when no mail server is configured or there is nobody to mail;
    nothing is sent then.
    """
    require(actor, Role.SUBMITTER)
    if asker is not None:
        asker = asker_address(actor, asker)
    mailer = app.mailer()
    if mailer is None:
        raise NoMail("[email] smtp_host is not set: the report cannot be mailed")
    mails = _mails(app, report, asker)
    if not mails:
        raise NoMail("nobody to mail the report to: [email] recipients is empty")
    problems: list[str] = []
    for to, part in mails:
        attached = None
        if attachment:
            attached = ("pending-release.csv", "text/csv", part.csv().encode("utf-8"))
        try:
            lost = mailer.send(to, part.subject(app.host), part.text(), attached)
        except MailError as exc:
            log.info("report not sent", to=to, error=str(exc))
            problems.append(str(exc))
            continue
        log.info("report sent", to=len(to) - len(lost), records=len(part.records))
        problems += [f"{address}: {answer}" for address, answer in lost.items()]
    if problems:
        return f"report not sent to everyone: {'; '.join(problems)}"
    return None
