"""The remote effects, one per pass. Each is safe to repeat after a lost answer: DOIs are
chosen locally, a create is a POST that never overwrites (a 422 "taken" is resolved by an
ownership check), and the state in every answer is checked.

An answer counts only for what was asked (the client checks it): it must be about the DOI
sent, and a create must answer the state it asked for (a draft, or findable with
``publish``); anything else fails the record with one line (``AnswerMismatch``,
:class:`StateMismatch`) and marks nothing done. An answer not read whole within
``[datacite] timeout`` is a transient failure; one too large to read fails the record.

A DOI that DataCite already holds for the same record is *adopted* (its metadata is sent only
when it differs, and a findable DOI makes a reserved record registered) only where an
ownership check proves it is the record's: after a create's 422 "taken" (an earlier attempt
whose answer was lost), or when a DOI that came in with the record (minted by an earlier
tool) is looked up before any create. A create's own answer never adopts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from organiser.config_schema import DEFAULT_ACCOUNT
from organiser.datacite.client import DataCiteClient
from organiser.datacite.errors import DoiTaken, NotFound, PermanentError, StateMismatch
from organiser.domain.identifiers import DoiScheme
from organiser.domain.metadata import differences, repository_identifiers
from organiser.domain.states import State
from organiser.storage import claims, records
from organiser.storage.models import Record

#: What DataCite may answer with after an update, per status the record is leaving.
#: Before registration the DOI is normally a draft, but findable when a register pass
#: published it while the record was marked for update (the newer mark won; the register
#: pass that follows the update confirms findable).
EXPECTED = {
    State.UPDATE_RESERVED: ("draft", "findable"),  # findable: published elsewhere, adopted
    State.UPDATE_REGISTERED: ("findable",),
    State.UPDATE_BEFORE_REGISTRATION: ("draft", "findable"),
}
FRESH_SUFFIX_TRIES = 5
NOTHING_YET = "nothing to send yet (not at DataCite; the reserve/register pass sends it)"


class Effects:
    """The idempotent remote calls for records claimed by ``owner``, each sent through the
    client of the record's account (``clients``: by account name; a single client is the
    default account's). Seam: ``clients``."""

    def __init__(
        self,
        clients: DataCiteClient | Mapping[str, DataCiteClient],
        schemes: DoiScheme | Mapping[str, DoiScheme],
        owner: str,
    ) -> None:
        if isinstance(clients, DataCiteClient):
            clients = {DEFAULT_ACCOUNT: clients}
        if isinstance(schemes, DoiScheme):
            schemes = {DEFAULT_ACCOUNT: schemes}
        self.clients, self.schemes, self.owner = dict(clients), dict(schemes), owner
        #: the default account's client (the first)
        self.client = next(iter(self.clients.values()))

    def client_for(self, record: Record) -> DataCiteClient:
        """Give the client of ``record``'s account. Raises :class:`PermanentError` (the
        record fails, the others go on) when that account is not configured any more."""
        client = self.clients.get(record.account or DEFAULT_ACCOUNT)
        if client is None:
            raise PermanentError(
                f"account {record.account} is not configured ([account {record.account}] "
                "missing); the record keeps it: configure it again to send this record"
            )
        return client

    def update(self, record: Record) -> str | None:
        """Send the record's metadata; give DataCite's state (None: nothing there yet, the
        reserve or register pass will send it)."""
        if decide("update", record).method is None:
            return None
        client = self.client_for(record)
        answer = client.put(record.doi, payload(record))
        if record.status == State.UPDATE_REGISTERED and answer.get("state") != "findable":
            # hidden or made a draft at DataCite behind organiser's back: the local copy wins
            answer = client.put(record.doi, {}, "publish")
        return expect(answer, *EXPECTED[State(record.status)])

    def reserve(self, record: Record) -> str:
        """Create the record's draft (one POST); give ``"draft"``, or ``"findable"`` when
        DataCite is proven to hold the DOI published for this record (adopted: see
        :meth:`_create`). Raises :class:`StateMismatch` when the create answers another state
        than draft, ``AnswerMismatch`` for an answer about another DOI."""
        return expect(self._create(record), "draft", "findable")

    def register(self, record: Record) -> str:
        """Publish the record: one PUT with ``publish`` if DataCite has its draft, else one
        POST that creates it findable; give ``"findable"``. Raises :class:`StateMismatch`
        when the answer shows another state, ``AnswerMismatch`` for another DOI."""
        first = decide("register", record)
        if first.method != "PUT":  # not at DataCite yet: look the DOI up, or create it
            return expect(self._create(record, "publish"), "findable")
        answer = self.client_for(record).put(record.doi, payload(record), first.event)
        return expect(answer, "findable")

    def delete(self, record: Record) -> str | None:
        """Delete a draft (give None) or hide a findable DOI (give ``"registered"``), with one
        request when ``remote_state`` is right; DataCite is looked up only when it is not
        known or the answer contradicts it."""
        first = decide("delete", record)
        client = self.client_for(record)
        try:
            if first.method == "DELETE":  # a draft
                client.delete(record.doi)
                return None
            if first.method == "PUT":  # findable: hide it
                answer = client.put(record.doi, {}, first.event)
                if answer.get("state") == "registered":
                    return "registered"
            if first.method is None:
                return "registered"  # hidden already
        except NotFound:
            return None  # nothing there (any more): what we wanted
        except PermanentError as exc:
            if exc.status != 405:  # 405: not a draft after all
                raise
        return self._delete_as_held(record)

    def _delete_as_held(self, record: Record) -> str | None:
        """Look the DOI up, then delete the draft or hide the findable DOI."""
        client = self.client_for(record)
        held = client.get(record.doi)
        if held is None or not _ours(record, held):
            return None  # nothing there, or another record's DOI: nothing to delete for this one
        state = held.get("state")
        if state == "draft":
            with contextlib.suppress(NotFound):  # gone meanwhile: what we wanted
                client.delete(record.doi)
            return None
        if state == "findable":
            return expect(client.put(record.doi, {}, "hide"), "registered")
        return expect(held, "registered")

    def _create(self, record: Record, event: str | None = None) -> dict[str, Any]:
        """Create the record's DOI (a draft, or with ``event``), or adopt it where DataCite
        already holds it for this record; a DOI taken by someone else gets a fresh suffix
        (generated DOIs only). A DOI that came with the record is looked up first: it is
        usually one minted by an earlier tool, so no create is sent for it.

        Adoption happens only after a ``GET`` whose answer :func:`_ours` accepts (the look-up
        first, or the one after a 422 "taken"); a create's answer counts only when it shows
        the state asked for (the client raises :class:`StateMismatch` otherwise)."""
        held = None
        client = self.client_for(record)
        if decide("register" if event else "reserve", record).method == "GET":
            held = client.get(record.doi)
        for _ in range(FRESH_SUFFIX_TRIES):
            if held is None:
                try:
                    answer = client.create(record.doi, payload(record), event)
                    break
                except DoiTaken:
                    held = client.get(record.doi)
                    if held is None:
                        continue  # gone meanwhile: create it again
            if _ours(record, held):  # e.g. our own earlier attempt, its answer lost
                answer = self._adopt(record, held, event)
                break
            if not record.doi_generated:
                raise PermanentError(
                    f"DOI {record.doi} is already taken at DataCite by another record"
                )
            held = None
            record.doi = self._fresh_doi(record)
            claims.note_progress(record, self.owner, None, record.doi)
        else:
            raise PermanentError(f"no free DOI after {FRESH_SUFFIX_TRIES} fresh suffixes")
        record.remote_state = answer.get("state")
        claims.note_progress(record, self.owner, record.remote_state, record.doi)
        return answer

    def _adopt(self, record: Record, held: dict[str, Any], event: str | None) -> dict[str, Any]:
        """Make what DataCite ``held`` for ``record`` what the pass wants, sending only what
        differs; give DataCite's (or the held) answer. Raises :class:`PermanentError` when it
        is hidden and a reserve cannot make it a draft again."""
        state = held.get("state")
        client = self.client_for(record)
        if event == "publish" and state != "findable":
            return client.put(record.doi, payload(record), event)
        if state == "registered":
            raise PermanentError(
                f"DOI {record.doi} is hidden (registered) at DataCite; mark the record for "
                "registration to make it findable again"
            )
        if differences(payload(record), held):
            return client.put(record.doi, payload(record))
        return held

    def _fresh_doi(self, record: Record) -> str:
        """Give a DOI the database does not hold, under the first prefix of ``record``'s
        account."""
        scheme = self.schemes.get(record.account or DEFAULT_ACCOUNT)
        if scheme is None:
            scheme = next(iter(self.schemes.values()))
        while True:
            doi = scheme.generate()
            if records.ensure_unique_doi(doi):
                return doi


@dataclass(frozen=True)
class Request:
    """The first request a pass's effect sends for a record (``method`` None: nothing), as
    :func:`decide` chooses it; what follows depends on DataCite's answer."""

    method: str | None
    event: str | None = None
    note: str = ""  # why, or what comes next

    def describe(self, doi: str) -> str:
        """Give the request as ``--dry-run`` shows it."""
        if self.method is None:
            return self.note
        target = f"/dois {doi}" if self.method == "POST" else f"/dois/{doi}"
        event = f" event={self.event}" if self.event else ""
        return f"{self.method} {target}{event} ({self.note})"


def decide(pass_name: str, record: Record) -> Request:
    """Give the first request the effect of ``pass_name`` sends for ``record``, from what the
    record knows (its ``remote_state``, whether its DOI came with it). Pure: the effects
    follow it, and ``--dry-run`` shows it."""
    known = record.remote_state
    if pass_name == "update":
        if known is None:
            return Request(None, note=NOTHING_YET)
        return Request("PUT", note="new metadata")
    if pass_name == "delete":
        if known == "draft":
            return Request("DELETE", note="delete the draft")
        if known == "findable":
            return Request("PUT", "hide", "hide it")
        if known == "registered":
            return Request(None, note="nothing to send (hidden already)")
        return Request("GET", note="then DELETE it if a draft, PUT event=hide if findable")
    if known is None and not record.doi_generated:  # reserve, register: maybe minted before
        return Request("GET", note="the DOI came with the record: adopt it, or create it")
    if pass_name == "reserve":
        return Request("POST", note="create a draft")
    if known is None:
        return Request("POST", "publish", "create it findable")
    return Request("PUT", "publish", "make it findable")


def describe(pass_name: str, record: Record) -> str:
    """Give what the pass would send first for ``record`` (for ``--dry-run``), without
    sending: :func:`decide`'s request."""
    return decide(pass_name, record).describe(record.doi)


def _ours(record: Record, held: dict[str, Any]) -> bool:
    """Tell whether DataCite holds the DOI for ``record``: when both name repository
    identifiers (LIDVIDs; the record's earlier ones included), one must be the same; the
    landing page alone decides only when one side names none (pages are often shared)."""
    sent = payload(record)
    mine = repository_identifiers(sent, record.doi)
    if record.identifier != record.doi and not record.identifier.startswith("local:"):
        mine.add(record.identifier)  # not the DOI or intake's content id: a real identifier
    theirs = repository_identifiers(held, record.doi)
    if mine and theirs:
        return bool(mine & theirs)
    return bool(sent.get("url")) and sent.get("url") == held.get("url")


def payload(record: Record) -> dict[str, Any]:
    """Give the attributes to send for ``record``: its metadata and its landing page."""
    attributes = records.attributes_of(record)
    if record.url:
        attributes["url"] = record.url
    return attributes


def expect(answer: dict[str, Any], *states: str) -> str:
    """Give the state DataCite's answer shows if it is one of ``states``; raise
    :class:`StateMismatch` otherwise (DataCite silently ignores an event that is not a valid
    transition)."""
    got = answer.get("state")
    if got not in states:
        wanted = " or ".join(states)
        raise StateMismatch(f"DataCite state is {got or 'unknown'}, expected {wanted}")
    return str(got)
