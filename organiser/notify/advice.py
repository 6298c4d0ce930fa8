"""What to do about a failure: one concrete next step per kind, for the alert mails.

A failure reaches the mail as the one-line text the DataCite client gave it (``PUT
/dois/10.5072/x: 422 creators: can't be blank; titles: can't be blank``, see
:mod:`organiser.datacite.answers`), so the kind is read back from that text: the HTTP
status, and for a 422 the fields DataCite named in its error body's ``source``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: ``METHOD /path: STATUS detail`` as :func:`organiser.datacite.answers.check` writes it.
_ANSWER = re.compile(r"^(?P<what>[A-Z]+ /\S*): (?P<status>\d{3})\b ?(?P<detail>.*)$")
#: A source DataCite names: a field path such as ``creators`` or ``titles[0].title``.
_FIELD = re.compile(r"^[A-Za-z][\w.\[\]-]*$")


def answer_status(error: str) -> int | None:
    """Give the HTTP status in a failure's text, None if it has none (no answer at all)."""
    found = _ANSWER.match(error)
    return int(found["status"]) if found else None


def refused_fields(error: str) -> list[str]:
    """Give the fields DataCite named (its errors' ``source``) in a failure's text, in the
    order given, each once."""
    found = _ANSWER.match(error)
    if not found:
        return []
    fields: list[str] = []
    for part in found["detail"].split("; "):
        source, sep, _ = part.partition(": ")
        if sep and _FIELD.match(source) and source not in fields:
            fields.append(source)
    return fields


def next_step(detail: Mapping[str, Any], for_submitter: bool = False) -> str:
    """Give the next step for one failed record (the digest's ``detail``: doi, action,
    error, transient, retry_at), addressed to an operator or, with ``for_submitter``, to
    the person who submitted it."""
    error, doi = str(detail.get("error", "")), detail.get("doi", "")
    if detail.get("transient"):
        return (
            f"nothing to do: it is tried again automatically at {detail.get('retry_at')} UTC; "
            "if it goes on, see https://status.datacite.org"
        )
    if error.startswith("internal error"):
        if for_submitter:
            return "nothing to do on your side: the repository's operators have been told"
        return "a bug in organiser: report it with the traceback from the log"
    status = answer_status(error)
    fields = refused_fields(error)
    if status == 422 and "already been taken" in error:
        if for_submitter:
            return "the DOI is already in use at DataCite: ask the repository's operators"
        return (
            f"DataCite already holds {doi} for another record or account: check "
            f"https://doi.org/{doi} and 'organiser show {doi}'; if it is this record's, "
            "'organiser import' brings it in"
        )
    if status in (400, 422):
        named = ", ".join(fields) if fields else "the metadata"
        if for_submitter:
            return f"correct {named} in your metadata and send a corrected version"
        return (
            f"DataCite refused {named}: correct it in the metadata, then "
            f"'organiser update {doi} FILE' gives the record the corrected version"
        )
    if for_submitter:
        return "ask the repository's operators: it needs a change on their side"
    if status == 403:
        return (
            "DataCite does not let this account change the DOI: check [datacite] username and "
            "that the DOI's prefix is one of the account's ([datacite] prefix)"
        )
    if status == 404:
        return (
            f"DataCite does not know {doi} (deleted there, or held by another account): "
            "'organiser check' shows what it holds; check [datacite] username and prefix"
        )
    if status == 405:
        return (
            "DataCite does not allow this for the DOI in its present state (a findable DOI "
            f"cannot be deleted, only hidden): 'organiser show {doi}' and 'organiser check'"
        )
    if "state" in error:
        return "DataCite left the DOI in another state than asked: 'organiser check' compares"
    return "correct what the error names, then try now (the command below)"


def outage_step(reason: str) -> str:
    """Give the next step for a systemic failure (its ``reason``): credentials, the URL, or
    nothing to do but wait."""
    if "401" in reason or "credentials" in reason:
        return (
            "check [datacite] username and password (ORGANISER_DATACITE_PASSWORD or the "
            "datacite_password credential) against the account in DataCite Fabrica"
        )
    if "not JSON" in reason or "[datacite] url" in reason:
        return "check [datacite] url: it must be DataCite's REST API (https://api.datacite.org)"
    return (
        "nothing to do if it is DataCite's side (https://status.datacite.org): each "
        "scheduled run tries again; else check this host's network and proxy"
    )
