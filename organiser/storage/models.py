"""The peewee models: records, their history, and the schema version.

The models are bound to a :class:`peewee.DatabaseProxy` that
:func:`organiser.storage.database.open_database` points at the configured database.
"""

from __future__ import annotations

import peewee as pw

database_proxy = pw.DatabaseProxy()


class BaseModel(pw.Model):
    class Meta:
        database = database_proxy


class Record(BaseModel):
    """One DOI and what the organiser knows and wants of it."""

    doi = pw.CharField(unique=True)
    doi_generated = pw.BooleanField(default=True)  # chosen here, so a fresh suffix is allowed
    identifier = pw.CharField(index=True)  # the repository's own id, e.g. a PDS LIDVID
    lid = pw.CharField(null=True, index=True)  # identifier without "::version" (since v2)
    title = pw.TextField(null=True, index=True)  # first title (500 chars), duplicate checks; v2
    status = pw.CharField(index=True)
    prior_status = pw.CharField(null=True)  # update: state to return to; delete: state left
    remote_state = pw.CharField(null=True)  # draft / registered / findable as DataCite last said
    attributes = pw.TextField()  # DataCite metadata attributes, JSON
    url = pw.TextField(null=True)  # landing page
    node = pw.CharField(null=True)
    submitter = pw.CharField(null=True)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)
    claim_owner = pw.CharField(null=True)
    claim_expires_at = pw.DateTimeField(null=True)
    #: a submitter's change waiting for review (status update-review), JSON ``{"attributes",
    #: "url", "identifier"}``; never sent until an operator approves it (since v6)
    pending = pw.TextField(null=True)
    #: the DataCite account it is sent through (``[datacite]``: "datacite"; an ``[account
    #: NAME]``: NAME), chosen when it is marked and never changed by itself (since v8)
    account = pw.CharField(default="datacite", constraints=[pw.SQL("DEFAULT 'datacite'")])

    class Meta:
        table_name = "record"
        indexes = ((("status", "id"), False),)


#: Claimed records by owner (since v4): only the rows that carry a claim are in it, so it stays
#: small however many records there are, and freeing or releasing claims never reads the table.
CLAIM_OWNER_INDEX = "record_claim_owner"
Record.add_index(
    Record.index(
        Record.claim_owner, name=CLAIM_OWNER_INDEX, where=Record.claim_owner.is_null(False)
    )
)


class History(BaseModel):
    """Append-only: one row per state change of a record."""

    record = pw.ForeignKeyField(Record, backref="history", on_delete="RESTRICT")
    from_status = pw.CharField(null=True)
    to_status = pw.CharField()
    action = pw.CharField()
    actor = pw.CharField()  # who or what caused it: a submitter, "organiser --register-all", ...
    at = pw.DateTimeField()
    outcome = pw.TextField(null=True)

    class Meta:
        table_name = "history"


class Run(BaseModel):
    """One organiser run (cron, timer, daemon tick or push): what ``status`` reports (since v3)."""

    host = pw.CharField()
    actor = pw.CharField()  # the command, e.g. "organiser daemon"
    started_at = pw.DateTimeField(index=True)
    finished_at = pw.DateTimeField(null=True)
    outcome = pw.CharField(default="running")  # running, ok, failures, outage, interrupted
    counts = pw.TextField(default="{}")  # JSON: pass -> {done, failed, skipped}
    detail = pw.TextField(null=True)  # why it was cut short

    class Meta:
        table_name = "run"


class Notice(BaseModel):
    """What the email alerts have said, so that nothing is mailed twice (since v3).

    ``key`` is ``record:<id>`` for a failing record, ``systemic`` for an outage, or
    ``systemic-cleared`` for the news that it ended. ``fingerprint`` is what makes a failure
    the same failure; ``detail`` (JSON) is what the digest prints; ``sent`` whether it went out.
    """

    key = pw.CharField(unique=True)
    fingerprint = pw.TextField()
    detail = pw.TextField()
    submitter = pw.CharField(null=True)
    sent = pw.BooleanField(default=False)  # to the operators
    submitter_sent = pw.BooleanField(default=False)  # to the record's submitter
    at = pw.DateTimeField()

    class Meta:
        table_name = "notice"


class Token(BaseModel):
    """A bearer token of the web API (since v5). Only the SHA-256 of the token is kept: the
    token itself is shown once, when it is made, and never stored or logged."""

    name = pw.CharField(unique=True)
    role = pw.CharField()  # reader, submitter or operator
    email = pw.CharField(null=True)  # the submitter address of submitter and operator tokens
    sha256 = pw.CharField(unique=True)  # hex SHA-256 of the token
    created_at = pw.DateTimeField()
    revoked_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "token"


class Binding(BaseModel):
    """Append-only (since v7): the DataCite endpoint and account this database sends to. The
    first row is written by the first command that sends (or imports); each ``config
    rebind`` adds one. The latest row is the binding; the rows before it are its history."""

    url = pw.CharField()  # DataCite API base URL, without credentials
    username = pw.CharField()  # the repository account (client id)
    reason = pw.CharField()  # "first use" or "rebind"
    actor = pw.CharField()  # the command, or the operator who rebound
    host = pw.CharField()
    at = pw.DateTimeField()

    class Meta:
        table_name = "binding"


class SchemaVersion(BaseModel):
    version = pw.IntegerField()

    class Meta:
        table_name = "schema_version"


MODELS = (Record, History, Run, Notice, Token, Binding, SchemaVersion)
