"""The configuration schema: every section and key, with its parser, default and help (what
:mod:`organiser.config` loads and checks, and ``config generate`` documents)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from organiser import config_parsers as P


@dataclass(frozen=True)
class Key:
    """One configuration key: how to parse it, its default (``None`` = required) and its help."""

    parse: Callable[[str], Any]
    default: str | None
    help: str
    secret: bool = False


def _optional_url(value: str) -> str:
    """Parse an http(s) URL without query or fragment (a path is allowed); empty stays empty."""
    if not value.strip():
        return ""
    parsed = P.url(value)
    if "?" in parsed or "#" in parsed:
        raise ValueError("must be an http:// or https:// URL without a query or fragment")
    return parsed


SCHEMA: dict[str, dict[str, Key]] = {
    "datacite": {
        "url": Key(
            P.base_url,
            "https://api.test.datacite.org",
            "DataCite REST API base URL, no path (production: https://api.datacite.org).",
        ),
        "username": Key(P.text, None, "Repository account (client id), e.g. DEMO.ORGANISER."),
        "password": Key(
            P.text, None, "Repository password; prefer ORGANISER_DATACITE_PASSWORD.", secret=True
        ),
        "prefix": Key(
            P.prefixes,
            None,
            "DOI prefix of the repository, e.g. 10.5072; several: comma-separated (new DOIs "
            "get the first).",
        ),
        "namespace_separator": Key(
            P.verbatim,
            "",
            "Text between prefix/ and the random suffix (e.g. 'pds.'); may be empty.",
        ),
        "suffix_pattern": Key(P.pattern, "xxxx-xxxx", "Shape of generated suffixes."),
        "suffix_alphabet": Key(
            P.alphabet,
            "0123456789abcdefghjkmnpqrstvwxyz",
            "Characters of generated suffixes (default: Crockford base32, no i l o u).",
        ),
        "connect_timeout": Key(
            P.number(float, 0.1, 600), "10", "Seconds to wait for a connection."
        ),
        "timeout": Key(
            P.number(float, 0.1, 3600),
            "60",
            "Seconds a request may take in all: sending it and reading the whole answer.",
        ),
        "retries": Key(
            P.number(int, 1, 20), "5", "Tries per request before a transient failure counts."
        ),
        "backoff": Key(
            P.number(float, 0, 600), "1", "First wait between tries, seconds; doubles, with jitter."
        ),
        "max_backoff": Key(
            P.number(float, 0, 3600), "120", "Longest wait between tries, including Retry-After."
        ),
        "workers": Key(
            P.number(int, 1, 64),
            "8",
            "Records a pass works on at once (one connection each); retries and back-off "
            "happen per record.",
        ),
        "rate_limit": Key(
            P.number(float, 0, 1000),
            "8",
            "Requests per second for the whole run, retries included (DataCite allows 10 per "
            "IP); 0: no limit. Halved while DataCite throttles, then recovered step by step.",
        ),
    },
    "database": {
        "url": Key(
            P.database_url,
            "sqlite:///~/.local/share/organiser/organiser.db",
            "Peewee database URL: sqlite:///PATH or postgresql://USER:PASS@HOST/DB.",
        ),
    },
    "intake": {
        "publisher": Key(
            P.text, "NASA Planetary Data System", "Publisher of PDS4-derived records."
        ),
        "keywords": Key(
            P.words, "", "Subjects added to every PDS4-derived record, comma-separated."
        ),
        "landing_page": Key(
            P.template,
            "https://pds.nasa.gov/ds-view/pds/view{view}.jsp?identifier={lid}&version={vid}",
            "Landing page of a PDS4 product; {view} is Bundle, Collection, Document, Context "
            "or Product; {lid} and {vid} are percent-encoded.",
        ),
        "extra_nodes": Key(
            P.nodes, "", "More steward nodes besides the PDS ones: 'id=Long Name; id=Long Name'."
        ),
        "versioned_dois": Key(
            P.boolean,
            "false",
            "A new version of an identifier that has a DOI gets '<first DOI>.<n>' (DSpace's "
            "versioned DOIs) instead of being refused.",
        ),
        "max_bytes": Key(
            P.number(int, 1, 2**30), "10485760", "Largest metadata file or URL body, bytes."
        ),
        "url_timeout": Key(
            P.number(float, 1, 600),
            "30",
            "Seconds a metadata URL may take in all: connecting, redirects and the body.",
        ),
        "max_redirects": Key(P.number(int, 0, 30), "5", "Redirects followed for a metadata URL."),
    },
    "organiser": {
        "state_dir": Key(
            P.path,
            "",
            "Where the run lock lives; empty: $STATE_DIRECTORY (systemd), else "
            "~/.local/state/organiser.",
        ),
        "batch_size": Key(P.number(int, 1, 10000), "100", "Records claimed at a time by a pass."),
        "claim_timeout": Key(
            P.number(float, 60, 7 * P.DAY),
            "900",
            "Seconds a claim lasts; a killed run's claims expire then.",
        ),
        "retry_delay": Key(
            P.number(float, 0, 7 * P.DAY),
            "300",
            "Seconds before a record that failed transiently is tried again; doubles per attempt.",
        ),
        "max_retry_delay": Key(
            P.number(float, 0, P.YEAR), "86400", "Longest delay between record tries."
        ),
        "outage_threshold": Key(
            P.number(int, 1, 1000),
            "3",
            "Consecutive records failing transiently that mean DataCite is unreachable.",
        ),
        "metrics_textfile": Key(
            P.path,
            "",
            "node_exporter textfile (*.prom) the daemon rewrites after each run and a run of "
            "the passes on every way out; empty: none.",
        ),
    },
    "scheduler": {
        "cron": Key(
            P.cron,
            "*/15 * * * *",
            "When 'organiser daemon' runs the passes: a crontab expression in UTC "
            "(minute hour day month weekday).",
        ),
        "run_at_start": Key(
            P.boolean, "true", "The daemon also runs the passes once as soon as it starts."
        ),
        "check_cron": Key(
            P.cron,
            "off",
            "When 'organiser daemon' runs 'organiser check' (drift from DataCite, mailed with "
            "the alerts): a crontab expression in UTC, or off.",
        ),
        "check_repair": Key(
            P.boolean,
            "false",
            "The scheduled check also marks what drifted for repair (as 'check --repair').",
        ),
        "misfire_grace_time": Key(
            P.number(int, 1, P.DAY),
            "600",
            "Seconds a run may start late (after a long run or a suspend) instead of being "
            "skipped; missed runs are folded into one.",
        ),
    },
    "email": {
        "smtp_host": Key(P.verbatim, "", "SMTP server for alerts; empty: no email is sent."),
        "smtp_port": Key(
            P.number(int, 0, 65535), "0", "SMTP port; 0: 465 for ssl, 587 for starttls, 25 else."
        ),
        "security": Key(P.choice("starttls", "ssl", "none"), "starttls", "starttls, ssl or none."),
        "username": Key(P.verbatim, "", "SMTP login; empty: no login."),
        "password": Key(
            P.verbatim,
            "",
            "SMTP password; prefer ORGANISER_EMAIL_PASSWORD or a credential.",
            secret=True,
        ),
        "sender": Key(P.address, "", "From address of alerts (required when smtp_host is set)."),
        "recipients": Key(P.addresses, "", "Operators who get the alerts, comma-separated."),
        "notify_submitters": Key(
            P.boolean, "false", "Also mail each submitter the failures of their own records."
        ),
        "timeout": Key(P.number(float, 1, 600), "30", "Seconds to wait for the SMTP server."),
    },
    "api": {
        "host": Key(
            P.text,
            "127.0.0.1",
            "Address 'organiser serve' listens on (the PDS DOI Service API 0.2); 0.0.0.0: all "
            "interfaces (put a TLS proxy in front).",
        ),
        "port": Key(P.number(int, 1, 65535), "8080", "Port 'organiser serve' listens on."),
        "review": Key(
            P.boolean,
            "true",
            "Submit (POST /doi/submit, organiser submit) moves a reserved record to review, for "
            "an operator to approve; false: to to-be-registered directly.",
        ),
        "url_hosts": Key(
            P.hosts,
            "pds.nasa.gov, pds-engineering.jpl.nasa.gov, pds-imaging.jpl.nasa.gov, "
            "pds-geosciences.wustl.edu, pds-atmospheres.nmsu.edu, pds-ppi.igpp.ucla.edu, "
            "pds-rings.seti.org, pds-smallbodies.astro.umd.edu, naif.jpl.nasa.gov",
            "Hosts a 'url' of POST /dois may name, comma-separated (no other is fetched; a name "
            "that resolves to a loopback, private or link-local address is refused).",
        ),
        "max_body_bytes": Key(
            P.number(int, 1024, 2**30),
            "10485760",
            "Largest request body 'organiser serve' accepts, bytes (larger: 413).",
        ),
        "max_records": Key(
            P.number(int, 1, 10**6),
            "10000",
            "Most records one API request may reserve (more: 400); the command line has no "
            "such limit.",
        ),
        "url_fetches": Key(
            P.number(int, 1, 32),
            "4",
            "Metadata URLs the API fetches at once (each within [intake] url_timeout); a "
            "request that finds them all busy for a second gets 503.",
        ),
        "public_metrics": Key(
            P.boolean,
            "false",
            "true: GET /metrics needs no token (/healthz and /readyz never do).",
        ),
        "public_reads": Key(
            P.boolean,
            "false",
            "true: GET /dois, GET /doi and GET /dois/check (without email=true) need no token, "
            "as PDS's public DOI search; writes always need one. Anyone can then read "
            "submitters' addresses.",
        ),
        "base_url": Key(
            _optional_url,
            "",
            "The API's public address, e.g. https://doi.example.org (behind a proxy); links "
            "such as GET /dois's next page are built from it; an https address also makes "
            "the web UI's cookie Secure behind a TLS proxy. Empty: http://host:port from "
            "this section.",
        ),
    },
    "logging": {
        "level": Key(
            P.choice("auto", "debug", "info", "warning", "error"),
            "auto",
            "auto: info under systemd, in the daemon (one line per record) and in 'organiser "
            "serve' (one line per request), warning otherwise; -v and -q override it.",
        ),
        "format": Key(
            P.choice("auto", "console", "json"),
            "auto",
            "auto: readable text; on the journal (JOURNAL_STREAM names stderr) each line "
            "starts with its priority <N>. json: JSON lines.",
        ),
        "file": Key(P.path, "", "Also append JSON log lines to this file (tracebacks go here)."),
    },
}


#: The keys of an ``[account NAME]`` section: one more DataCite repository account, sharing
#: ``[datacite]``'s URL, suffix shape, timeouts and rate limit (see :mod:`organiser.accounts`).
ACCOUNT_SCHEMA: dict[str, Key] = {
    "username": Key(P.text, None, "Repository account (client id), e.g. NASA.SBN."),
    "password": Key(
        P.text,
        None,
        "Its password; prefer ORGANISER_ACCOUNT_<NAME>_PASSWORD or the credential "
        "datacite_password_<name>.",
        secret=True,
    ),
    "prefix": Key(P.prefixes, None, "Its DOI prefixes, comma-separated (new DOIs get the first)."),
    "nodes": Key(
        P.words, "", "Steward nodes whose new records go to this account, comma-separated."
    ),
    "identifiers": Key(
        P.wildcards,
        "",
        "Unix wildcards on the identifier (e.g. urn:nasa:pds:gbo.*); a new record that matches "
        "goes to this account. Comma-separated.",
    ),
}
#: The account ``[datacite]`` configures: the default one, and what records written before
#: there were several accounts belong to.
DEFAULT_ACCOUNT = "datacite"

#: ``ORGANISER_`` variables of organiser's own that set no key: the configuration file.
OWN_VARIABLES = frozenset({"ORGANISER_CONFIG"})
#: The prefix of test seams (``ORGANISER_TEST_POSTGRES_URL``, ``ORGANISER_TEST_CRON_SECOND``).
TEST_SEAMS = "ORGANISER_TEST_"
