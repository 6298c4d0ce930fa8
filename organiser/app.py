"""The composition root: configuration → database, run lock, DataCite client, mailer, clock.

Built once per command (or kept by the daemon and re-read on SIGHUP). Every effect has its
seam here, so tests point them at real local servers.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from organiser import config as config_module
from organiser.lock import RunLock

if TYPE_CHECKING:  # each effect is imported by the method that builds it, so that a command
    # loads only what it uses (``organiser status`` needs no HTTP client, intake or mailer)
    from organiser import intake
    from organiser.accounts import Accounts
    from organiser.datacite.client import DataCiteClient
    from organiser.domain.identifiers import DoiScheme
    from organiser.engine.passes import Observer, Organiser, Settings
    from organiser.engine.stop import StopFlag
    from organiser.notify.mailer import Mailer

#: How long opening the database waits for a running organiser before a schema upgrade.
UPGRADE_WAIT = 60.0


def utcnow() -> datetime:
    """Give the current time as naive UTC, the form the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)


class App:
    """What a command needs, built lazily from ``--config`` and the environment."""

    def __init__(self, config_path: str | None, environ: Mapping[str, str] | None = None) -> None:
        self.config_path = config_path
        self.environ = os.environ if environ is None else environ
        self.host = socket.gethostname()
        self.clock = utcnow
        self._config: config_module.Config | None = None
        self._lock: RunLock | None = None
        self._db_open = False
        #: False for a command that only reads: it says there is no database instead of
        #: creating an empty one (``NoDatabase``)
        self.creates_db = True

    @property
    def config(self) -> config_module.Config:
        """The validated configuration. Raises :class:`organiser.config.ConfigError`."""
        if self._config is None:
            self._config = config_module.load(self.config_path, self.environ)
        return self._config

    def reload(self) -> config_module.Config:
        """Read the configuration again; keep the old one (and raise ``ConfigError``) if the
        new one is broken. The database stays the one opened first."""
        self._config = config_module.load(self.config_path, self.environ)
        return self._config

    def use_config(self, config: config_module.Config) -> None:
        """Go back to ``config`` (the daemon keeps the old one when a reload is refused)."""
        self._config = config

    @property
    def state_dir(self) -> Path:
        """Where the run lock (and a crash's traceback) go."""
        configured = self.config["organiser"]["state_dir"]
        if configured:
            return Path(configured)
        if self.environ.get("STATE_DIRECTORY"):  # systemd's StateDirectory=
            return Path(self.environ["STATE_DIRECTORY"].split(":")[0])
        return Path("~/.local/state/organiser").expanduser()

    @property
    def run_lock(self) -> RunLock:
        """The host's lock for runs over this database."""
        if self._lock is None:
            url = self.config["database"]["url"]
            if url.startswith("sqlite:///"):
                url = "sqlite:///" + str(Path(url[len("sqlite:///") :]).expanduser().resolve())
            self._lock = RunLock(self.state_dir, url)
        return self._lock

    def open_db(self) -> None:
        """Open (and, under the run lock, upgrade) the configured database, creating it
        unless :attr:`creates_db` is false. Raises ``DatabaseError`` (``NoDatabase``: none
        yet), ``DatabaseUnavailable`` or ``LockHeld``."""
        if not self._db_open:
            from organiser.storage.database import NoDatabase, open_database

            try:
                open_database(
                    self.config["database"]["url"],
                    upgrade_lock=lambda: self.run_lock.held_for(UPGRADE_WAIT),
                    create=self.creates_db,
                )
            except NoDatabase:  # say where the URL came from: often no configuration was found
                source = self.config.source
                where = self.config.origins.get(("database", "url"), source)
                if where == "default":  # the file (if any) does not set it
                    found = "no configuration file found" if source == "defaults" else None
                    where = f"defaults: {found or f'{source} does not set it'}"
                raise NoDatabase(self.config["database"]["url"], where) from None
            self._db_open = True

    def reconnect_db(self) -> None:
        """Close the database connection so that the next query opens a fresh one (the
        daemon does this before each run: a server restarted meanwhile is no problem)."""
        if not self._db_open:
            return
        from organiser.storage.models import database_proxy

        if not database_proxy.is_closed():
            database_proxy.close()

    @property
    def accounts(self) -> Accounts:
        """The DataCite accounts: ``[datacite]`` (the default) and each ``[account NAME]``.
        Raises ``ConfigError`` for an account's node that is not known."""
        from organiser.accounts import Accounts

        return Accounts.of(self.config, self.nodes)

    @property
    def scheme(self) -> DoiScheme:
        """How this repository's DOIs look: the default account's first prefix for new ones,
        every account's prefixes owned. Raises ``ConfigError`` without a prefix."""
        self.config.require("datacite", "prefix")
        return self.accounts.intake_scheme()

    @property
    def nodes(self) -> dict[str, str]:
        """Steward node ids and long names: the PDS ones plus ``[intake] extra_nodes``."""
        from organiser.intake.formats import pds4

        return {**pds4.NODES, **self.config["intake"]["extra_nodes"]}

    def intake_options(self, node: str | None, max_records: int | None = None) -> intake.Options:
        """Give what intake needs for records held by ``node``, at most ``max_records`` per
        source (None: no limit; the API passes ``[api] max_records``)."""
        from organiser import intake
        from organiser.intake.formats import pds4
        from organiser.intake.sources import Limits

        cfg = self.config["intake"]
        crosswalk = pds4.Crosswalk(
            cfg["publisher"], cfg["keywords"], cfg["landing_page"], self.nodes
        )
        limits = Limits(cfg["max_bytes"], cfg["url_timeout"], cfg["max_redirects"], max_records)
        return intake.Options(self.scheme, crosswalk, node, limits)

    def require_datacite(self) -> None:
        """Check that every account has its username, password and prefix (no client is
        made, nothing is sent). Raises ``ConfigError`` naming what is missing."""
        self.config.require("datacite", "username", "password", "prefix")
        self.config.require_accounts()

    @contextlib.contextmanager
    def datacite(self) -> Iterator[dict[str, DataCiteClient]]:
        """Give :meth:`clients` for a block, and close their keep-alive connections after
        it (an import or check in the daemon leaves none behind). Raises as
        :meth:`clients` does."""
        clients = self.clients()
        try:
            yield clients
        finally:
            for client in clients.values():
                client.session.close()

    def clients(self) -> dict[str, DataCiteClient]:
        """Give a DataCite client per account, by account name (the default first), all
        through one rate limiter: DataCite limits requests per IP address, not per account.
        Raises ``ConfigError`` when an account lacks its username, password or prefix."""
        from organiser.datacite.client import DataCiteClient
        from organiser.datacite.ratelimit import RateLimiter

        self.require_datacite()
        dc = self.config["datacite"]
        limiter = RateLimiter(dc["rate_limit"] or None)
        return {
            account.name: DataCiteClient(
                dc["url"],
                str(account.username),
                str(account.password),
                connect_timeout=dc["connect_timeout"],
                timeout=dc["timeout"],
                limiter=limiter,
                connections=dc["workers"],
            )
            for account in self.accounts.all
        }

    def settings(self) -> Settings:
        """Give the pass settings from ``[datacite]`` and ``[organiser]``."""
        from organiser.engine.passes import Settings

        dc, org = self.config["datacite"], self.config["organiser"]
        return Settings(
            batch_size=org["batch_size"],
            claim_for=timedelta(seconds=org["claim_timeout"]),
            retries=dc["retries"],
            backoff=dc["backoff"],
            max_backoff=dc["max_backoff"],
            retry_delay=timedelta(seconds=org["retry_delay"]),
            max_retry_delay=timedelta(seconds=org["max_retry_delay"]),
            outage_threshold=org["outage_threshold"],
            workers=dc["workers"],
        )

    def organiser(
        self, actor: str, stop: StopFlag | None = None, observer: Observer | None = None
    ) -> Organiser:
        """Give an organiser for this configuration, its database open."""
        from organiser.engine.passes import Organiser

        clients = self.clients()
        accounts = self.accounts
        schemes = {name: accounts.scheme(name) for name in clients}
        self.open_db()
        return Organiser(clients, schemes, self.settings(), actor, self.clock, stop, observer)

    def mailer(self) -> Mailer | None:
        """Give the alert mailer, or None when ``[email] smtp_host`` is not set."""
        from organiser.notify.mailer import Mailer, MailSettings

        mail = self.config["email"]
        if not mail["smtp_host"]:
            return None
        return Mailer(
            MailSettings(
                host=mail["smtp_host"],
                port=mail["smtp_port"],
                security=mail["security"],
                username=mail["username"],
                password=mail["password"],
                sender=mail["sender"],
                timeout=mail["timeout"],
            )
        )
