"""The remote effects, one per pass. Each is safe to repeat after a lost answer: DOIs are
chosen locally, a create is a POST that never overwrites (a 422 "taken" is resolved by an
ownership check), and the state in every answer is checked."""

from __future__ import annotations

import contextlib
from typing import Any

from organiser.datacite.client import DataCiteClient
from organiser.datacite.errors import DoiTaken, NotFound, PermanentError, StateMismatch
from organiser.domain.identifiers import DoiScheme
from organiser.domain.metadata import identifiers_in
from organiser.domain.states import State
from organiser.storage import claims, records
from organiser.storage.models import Record

#: What DataCite may answer with after an update, per status the record is leaving.
#: Before registration the DOI is normally a draft, but findable when a register pass
#: published it while the record was marked for update (the newer mark won; the register
#: pass that follows the update confirms findable).
EXPECTED = {
    State.UPDATE_RESERVED: ("draft",),
    State.UPDATE_REGISTERED: ("findable",),
    State.UPDATE_BEFORE_REGISTRATION: ("draft", "findable"),
}
FRESH_SUFFIX_TRIES = 5


class Effects:
    """The idempotent remote calls for records claimed by ``owner``. Seam: ``client``."""

    def __init__(self, client: DataCiteClient, scheme: DoiScheme, owner: str) -> None:
        self.client, self.scheme, self.owner = client, scheme, owner

    def update(self, record: Record) -> str | None:
        """Send the record's metadata; give DataCite's state (None: nothing there yet, the
        reserve or register pass will send it)."""
        if record.remote_state is None:
            return None
        answer = self.client.put(record.doi, payload(record))
        return expect(answer, *EXPECTED[State(record.status)])

    def reserve(self, record: Record) -> str:
        """Create the record's draft (one POST); give ``"draft"``."""
        return expect(self._create(record), "draft")

    def register(self, record: Record) -> str:
        """Publish the record: one PUT with ``publish`` if DataCite has its draft, else one
        POST that creates it findable; give ``"findable"``."""
        if record.remote_state is None:
            return expect(self._create(record, "publish"), "findable")
        return expect(self.client.put(record.doi, payload(record), "publish"), "findable")

    def delete(self, record: Record) -> str | None:
        """Delete a draft (give None) or hide a findable DOI (give ``"registered"``), with one
        request when ``remote_state`` is right; DataCite is looked up only when it is not
        known or the answer contradicts it."""
        known = record.remote_state
        try:
            if known == "draft":
                self.client.delete(record.doi)
                return None
            if known == "findable":
                answer = self.client.put(record.doi, {}, "hide")
                if answer.get("state") == "registered":
                    return "registered"
            if known == "registered":
                return "registered"  # hidden already
        except NotFound:
            return None  # nothing there (any more): what we wanted
        except PermanentError as exc:
            if exc.status != 405:  # 405: not a draft after all
                raise
        return self._delete_as_held(record)

    def _delete_as_held(self, record: Record) -> str | None:
        """Look the DOI up, then delete the draft or hide the findable DOI."""
        held = self.client.get(record.doi)
        if held is None:
            return None
        state = held.get("state")
        if state == "draft":
            with contextlib.suppress(NotFound):  # gone meanwhile: what we wanted
                self.client.delete(record.doi)
            return None
        if state == "findable":
            return expect(self.client.put(record.doi, {}, "hide"), "registered")
        return expect(held, "registered")

    def _create(self, record: Record, event: str | None = None) -> dict[str, Any]:
        """Create the record's DOI (a draft, or with ``event``); an answer lost earlier is
        recognised, a DOI taken by someone else gets a fresh suffix (generated DOIs only)."""
        for _ in range(FRESH_SUFFIX_TRIES):
            try:
                answer = self.client.create(record.doi, payload(record), event)
                break
            except DoiTaken:
                held = self.client.get(record.doi)
                ours = identifiers_in(payload(record)) | {record.identifier}
                if held is not None and identifiers_in(held) & ours:  # e.g. an earlier LIDVID
                    answer = self.client.put(record.doi, payload(record), event)
                    break
                if not record.doi_generated:
                    raise PermanentError(
                        f"DOI {record.doi} is already taken at DataCite by another record"
                    ) from None
                record.doi = self._fresh_doi()
                claims.note_progress(record, self.owner, None, record.doi)
        else:
            raise PermanentError(f"no free DOI after {FRESH_SUFFIX_TRIES} fresh suffixes")
        record.remote_state = answer.get("state")
        claims.note_progress(record, self.owner, record.remote_state, record.doi)
        return answer

    def _fresh_doi(self) -> str:
        while True:
            doi = self.scheme.generate()
            if records.ensure_unique_doi(doi):
                return doi


def describe(pass_name: str, record: Record) -> str:
    """Give what the pass would send for ``record`` (for ``--dry-run``), without sending."""
    doi = record.doi
    if pass_name == "update":
        if record.remote_state is None:
            return "nothing to send yet (not at DataCite; the reserve/register pass sends it)"
        return f"PUT /dois/{doi} (new metadata)"
    if pass_name == "reserve":
        return f"POST /dois {doi} (create a draft)"
    if pass_name == "register":
        if record.remote_state is None:
            return f"POST /dois {doi} event=publish (create it findable)"
        return f"PUT /dois/{doi} event=publish (make it findable)"
    if record.remote_state == "draft":
        return f"DELETE /dois/{doi} (delete the draft)"
    if record.remote_state == "findable":
        return f"PUT /dois/{doi} event=hide (hide it)"
    if record.remote_state == "registered":
        return "nothing to send (hidden already)"
    return f"GET /dois/{doi}, then DELETE it if a draft or PUT event=hide if findable"


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
