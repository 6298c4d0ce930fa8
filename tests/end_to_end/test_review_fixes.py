"""Defects found by the review of the day's change (0.2 dialect, several accounts, metrics,
web UI, install), each pinned by the test that failed before its fix."""

from __future__ import annotations

from test_accounts import SBN_ENV, _two_accounts
from test_accounts import standin as standin  # the two-account stand-in

from conftest import Env


def test_check_says_nothing_of_records_whose_account_is_not_configured(env: Env) -> None:
    """A record of an account taken out of the configuration is not listed (its account's
    listing is not read): it is not "missing at DataCite", and --repair leaves it alone."""
    _two_accounts(env)
    env.ok("import", env=SBN_ENV)
    env.config.write_text(env.config.read_text().split("[account sbn]")[0])
    before = env.snapshot()
    result = env.run("check", "--repair")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sbn-" not in result.stdout
    assert "0 missing at DataCite" in result.stdout
    assert env.snapshot() == before
