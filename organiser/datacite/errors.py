"""How DataCite's answers are classified; what a pass does with each class:

- :class:`TransientError`: connection error, no whole answer by the request's deadline, 408,
  429 (with ``retry_after``), 5xx. Worth retrying; the record keeps its state if it goes on
  failing.
- :class:`PermanentError`: 400, 403, 404, 405, 422, a state other than the one asked for, an
  answer about another DOI, a successful answer too large to read. Failing again will not help
  until someone changes something; other records go on.
- :class:`SystemicError`: 401, or an answer showing the URL is not DataCite's API. No record
  can succeed: the run stops.
"""

from __future__ import annotations

from organiser.errors import OrganiserError


class DataCiteError(OrganiserError):
    """Any failed DataCite request; ``str()`` is a one-line description without secrets."""


class TransientError(DataCiteError):
    """A failure that may go away by itself; ``retry_after`` is DataCite's hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(TransientError):
    """429, or the HTML 403 DataCite's firewall sends when it throttles: the client waits
    (``retry_after``) and sends the request again; it never reaches a pass as a failure."""


class PermanentError(DataCiteError):
    """DataCite refused this request for this record; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DoiTaken(PermanentError):
    """422: the DOI asked for in a create already exists at DataCite."""


class NotFound(PermanentError):
    """404: DataCite has no such DOI (or it is not visible to this account)."""


class StateMismatch(PermanentError):
    """DataCite answered, but the DOI is not in the state the effect should have left it in
    (DataCite silently ignores an event that is not a valid transition), or a create answered
    another state than the one it asked for (never taken as an adoption)."""


class AnswerMismatch(PermanentError):
    """DataCite's answer is about another DOI than the one asked about: it proves nothing for
    this record, so nothing is marked done on it."""


class AnswerTooLarge(PermanentError):
    """A successful answer larger than the client reads (see
    :data:`organiser.datacite.answers.MAX_ANSWER_BYTES`): refused without being held in memory.
    Permanent, not transient: what DataCite holds for a DOI does not shrink by asking again,
    and retrying would fetch the same bytes; the record is tried again after
    ``max_retry_delay`` or a new mark."""


class SystemicError(DataCiteError):
    """No record can succeed while this lasts: the run stops at once (exit 75)."""


class CredentialsRefused(SystemicError):
    """401: the repository account or password was refused."""


class WrongEndpoint(SystemicError):
    """The answer shows that ``[datacite] url`` is not a DataCite API: an HTML page or other
    non-JSON body where JSON was expected, or a 404 on the ``/dois`` collection itself."""
