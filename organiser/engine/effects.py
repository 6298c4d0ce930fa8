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
        """Create the record's draft; give ``"draft"``."""
        return expect(self._create(record), "draft")

    def register(self, record: Record) -> str:
        """Publish the record (creating its draft first if it was never reserved); give
        ``"findable"``."""
        if record.remote_state is None:
            expect(self._create(record), "draft")
        return expect(self.client.put(record.doi, payload(record), "publish"), "findable")

    def delete(self, record: Record) -> str | None:
        """Delete a draft (give None) or hide a findable DOI (give ``"registered"``)."""
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

    def _create(self, record: Record) -> dict[str, Any]:
        """Create the record's DOI as a draft; an answer lost earlier is recognised, a DOI
        taken by someone else gets a fresh suffix (generated DOIs only)."""
        for _ in range(FRESH_SUFFIX_TRIES):
            try:
                answer = self.client.create_draft(record.doi, payload(record))
                break
            except DoiTaken:
                held = self.client.get(record.doi)
                ours = identifiers_in(payload(record)) | {record.identifier}
                if held is not None and identifiers_in(held) & ours:  # e.g. an earlier LIDVID
                    answer = self.client.put(record.doi, payload(record))
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
        first = "" if record.remote_state else f"POST /dois {doi} (create a draft), then "
        return f"{first}PUT /dois/{doi} event=publish (make it findable)"
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
