"""Wiring: configuration → database, DataCite client and organiser, built once per command."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import structlog

from organiser import config as config_module
from organiser import intake, pds4
from organiser.datacite import DataCiteClient
from organiser.db import open_database
from organiser.identifiers import DoiScheme
from organiser.passes import Organiser, Settings
from organiser.sources import Limits


def utcnow() -> datetime:
    """Give the current time as naive UTC, the form the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def setup_logging(quiet: bool, verbose: bool) -> None:
    """Send structlog's diagnostics to stderr: errors only with ``quiet``, info with
    ``verbose``, warnings otherwise."""
    level = logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


class App:
    """What a command needs, built lazily from ``--config`` and the environment."""

    def __init__(self, config_path: str | None, environ: Mapping[str, str] | None = None) -> None:
        self.config_path = config_path
        self.environ = os.environ if environ is None else environ
        self._config: config_module.Config | None = None
        self._db_open = False

    @property
    def config(self) -> config_module.Config:
        """The validated configuration. Raises :class:`organiser.config.ConfigError`."""
        if self._config is None:
            self._config = config_module.load(self.config_path, self.environ)
        return self._config

    def open_db(self) -> None:
        """Open (and upgrade) the configured database. Raises ``DatabaseError``."""
        if not self._db_open:
            open_database(self.config["database"]["url"])
            self._db_open = True

    @property
    def scheme(self) -> DoiScheme:
        dc = self.config["datacite"]
        return DoiScheme(
            dc["prefix"], dc["namespace_separator"], dc["suffix_pattern"], dc["suffix_alphabet"]
        )

    @property
    def nodes(self) -> dict[str, str]:
        """Steward node ids and long names: the PDS ones plus ``[intake] extra_nodes``."""
        return {**pds4.NODES, **self.config["intake"]["extra_nodes"]}

    def intake_options(self, node: str | None) -> intake.Options:
        """Give what intake needs for records held by ``node``."""
        cfg = self.config["intake"]
        crosswalk = pds4.Crosswalk(
            cfg["publisher"], cfg["keywords"], cfg["landing_page"], self.nodes
        )
        limits = Limits(cfg["max_bytes"], cfg["url_timeout"], cfg["max_redirects"])
        return intake.Options(self.scheme, crosswalk, node, limits)

    def organiser(self, actor: str) -> Organiser:
        """Give an organiser for this configuration, its database open."""
        dc, org = self.config["datacite"], self.config["organiser"]
        self.open_db()
        client = DataCiteClient(
            dc["url"],
            dc["username"],
            dc["password"],
            connect_timeout=dc["connect_timeout"],
            timeout=dc["timeout"],
        )
        settings = Settings(
            batch_size=org["batch_size"],
            claim_for=timedelta(seconds=org["claim_timeout"]),
            retries=dc["retries"],
            backoff=dc["backoff"],
            max_backoff=dc["max_backoff"],
            retry_delay=timedelta(seconds=org["retry_delay"]),
            max_retry_delay=timedelta(seconds=org["max_retry_delay"]),
            outage_threshold=org["outage_threshold"],
        )
        return Organiser(client, self.scheme, settings, actor, utcnow)
