"""Several DataCite accounts: ``[account NAME]`` sections, their passwords from the
environment and credentials, the rules between accounts, and routing (node, identifier
wildcards, default; a given DOI by its prefix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from organiser.accounts import Accounts
from organiser.config import Config, ConfigError, load

BASE = "[datacite]\nusername = NASA.PDS\npassword = p0\nprefix = 10.17189\n"
SBN = "[account sbn]\nusername = NASA.SBN\nprefix = 10.26033, 10.26034\nnodes = sbn\n"


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    path = tmp_path / "o.ini"
    path.write_text(text)
    return load(path, environ or {})


def test_account_section_and_its_password_from_the_environment(tmp_path: Path) -> None:
    config = _load(tmp_path, BASE + SBN, {"ORGANISER_ACCOUNT_SBN_PASSWORD": "s3cret"})
    account = config.accounts["sbn"]
    assert account["username"] == "NASA.SBN"
    assert account["password"] == "s3cret"
    assert account["prefix"] == ("10.26033", "10.26034")
    assert account["nodes"] == ("sbn",)
    assert "s3cret" in config.secrets()


def test_password_from_a_credential(tmp_path: Path) -> None:
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "datacite_password_sbn").write_text("from-credential\n")
    config = _load(tmp_path, BASE + SBN, {"CREDENTIALS_DIRECTORY": str(tmp_path / "creds")})
    assert config.accounts["sbn"]["password"] == "from-credential"
    assert str(tmp_path / "creds" / "datacite_password_sbn") in config.files


def test_missing_password_is_reported_when_needed(tmp_path: Path) -> None:
    config = _load(tmp_path, BASE + SBN)
    with pytest.raises(
        ConfigError,
        match=r"\[account sbn\] password: missing .*"
        r"ORGANISER_ACCOUNT_SBN_PASSWORD",
    ):
        config.require_accounts()


def test_variable_of_an_unconfigured_account_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ORGANISER_ACCOUNT_IMG_PASSWORD: unknown variable"):
        _load(tmp_path, BASE + SBN, {"ORGANISER_ACCOUNT_IMG_PASSWORD": "x"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SBN.replace("nodes", "colour"), r"\[account sbn\] colour: unknown key"),
        ("[account]\nusername = X\n", r"\[account\]: an account needs a name"),
        ("[account s-b]\nusername = X\n", r"\[account s-b\]: an account needs a name"),
        ("[account datacite]\nusername = X\n", "is the \\[datacite\\] account's name"),
        (
            SBN.replace("10.26033, 10.26034", "10.17189"),
            r"prefix: 10.17189 is also account "
            "datacite's",
        ),
        (SBN.replace("NASA.SBN", "nasa.pds"), "username: nasa.pds is also account datacite's"),
        (SBN.replace("10.26033, 10.26034", "10.2603x"), r"prefix: '10.2603x' must be a DOI prefix"),
        (
            SBN + "[account img]\nusername = I\npassword = i\nprefix = 10.1\nnodes = sbn\n",
            r"\[account img\] prefix: '10.1' must be",
        ),
        (
            SBN + "[account img]\nusername = I\npassword = i\nprefix = 10.11111\nnodes = sbn\n",
            r"\[account img\] nodes: sbn is also account sbn's",
        ),
    ],
)
def test_bad_accounts_are_refused_naming_section_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, BASE + text, {"ORGANISER_ACCOUNT_SBN_PASSWORD": "s"})


def test_test_prefix_with_production_url_is_refused_for_every_account(tmp_path: Path) -> None:
    text = BASE + "url = https://api.datacite.org\n" + SBN.replace("10.26034", "10.5072")
    with pytest.raises(ConfigError, match=r"\[account sbn\] prefix: 10.5072 is DataCite's test"):
        _load(tmp_path, text, {"ORGANISER_ACCOUNT_SBN_PASSWORD": "s"})


def _accounts(tmp_path: Path, extra: str = "") -> Accounts:
    text = BASE + SBN + "identifiers = urn:nasa:pds:gbo.*, urn:nasa:pds:*comet*\n" + extra
    config = _load(tmp_path, text, {"ORGANISER_ACCOUNT_SBN_PASSWORD": "s"})
    return Accounts.of(config, {"sbn": "Small Bodies", "img": "Imaging", "geo": "Geo"})


def test_routing_by_node_then_identifier_then_default(tmp_path: Path) -> None:
    accounts = _accounts(
        tmp_path, "[account img]\nusername = I\npassword = i\nprefix = 10.11111\nnodes = img\n"
    )
    assert accounts.route("sbn", "urn:nasa:pds:anything::1.0").name == "sbn"
    assert accounts.route("img", "urn:nasa:pds:gbo.ast::1.0").name == "img"  # node first
    assert accounts.route("geo", "urn:nasa:pds:gbo.ast::1.0").name == "sbn"
    assert accounts.route(None, "urn:nasa:pds:Big_COMET_dust::1.0").name == "sbn"  # any case
    assert accounts.route(None, "urn:nasa:pds:Big_ASTEROID_dust::1.0").name == "datacite"
    assert accounts.route(None, "urn:nasa:pds:big_comet_dust::1.0").name == "sbn"
    assert accounts.route("geo", "urn:nasa:pds:insight::1.0").name == "datacite"
    assert accounts.for_doi("10.26034/abc").name == "sbn"
    assert accounts.for_doi("10.17189/abc").name == "datacite"
    assert accounts.for_doi("10.99999/abc") is None
    assert accounts.scheme("sbn").generate().startswith("10.26033/")
    assert accounts.intake_scheme().owns("10.11111/x")


def test_unknown_node_in_an_account_is_refused(tmp_path: Path) -> None:
    bad = _load(
        tmp_path,
        BASE + SBN.replace("nodes = sbn", "nodes = sbn, atmo"),
        {"ORGANISER_ACCOUNT_SBN_PASSWORD": "s"},
    )
    with pytest.raises(ConfigError, match=r"\[account sbn\] nodes: atmo is not a known node"):
        Accounts.of(bad, {"sbn": "S"})


def test_the_digest_names_a_failing_records_account_when_there_are_several() -> None:
    import json
    from datetime import datetime

    from organiser.notify.digest import compose
    from organiser.storage.models import Notice

    detail = {
        "doi": "10.26033/x",
        "identifier": "urn:nasa:pds:x::1.0",
        "node": "sbn",
        "action": "register",
        "error": "403 forbidden",
        "transient": False,
        "attempts": 1,
        "retry_at": "2026-01-01 00:00",
    }
    at = datetime(2026, 1, 1)
    one = compose([Notice(key="record:1", detail=json.dumps(detail), at=at)], "h").body
    assert "account" not in one
    several = json.dumps(dict(detail, account="sbn"))
    body = compose([Notice(key="record:1", detail=several, at=at)], "h").body
    assert "  node        sbn\n  account     sbn\n" in body


def test_an_import_never_moves_a_record_to_another_account() -> None:
    from datetime import datetime

    from organiser.storage.imported import KEPT, Remote, judge
    from organiser.storage.models import Record

    now = datetime(2026, 1, 2)
    local = Record(
        doi="10.26033/x",
        identifier="urn:nasa:pds:x::1.0",
        status="registered",
        attributes="{}",
        account="datacite",
        updated_at=datetime(2026, 1, 1),
    )
    remote = Remote("10.26033/x", "findable", {}, None, "urn:nasa:pds:x::1.0", None, now, "sbn")
    assert judge(local, remote, now) == (KEPT, "account datacite here, listed by account sbn")
    local.account = "sbn"
    assert judge(local, remote, now)[0] != KEPT


def test_every_accounts_client_goes_through_one_rate_limiter(tmp_path: Path) -> None:
    from organiser.app import App

    (tmp_path / "o.ini").write_text(BASE + SBN + "[account img]\nusername = I\nprefix = 10.11111\n")
    environ = {
        "ORGANISER_CONFIG": str(tmp_path / "o.ini"),
        "ORGANISER_ACCOUNT_SBN_PASSWORD": "s",
        "ORGANISER_ACCOUNT_IMG_PASSWORD": "i",
    }
    clients = App(None, environ).clients()
    assert {name: c.username for name, c in clients.items()} == {
        "datacite": "NASA.PDS",
        "sbn": "NASA.SBN",
        "img": "I",
    }
    assert clients["sbn"].session.auth == ("NASA.SBN", "s")
    assert len({id(c.limiter) for c in clients.values()}) == 1
    assert clients["sbn"].limiter is not None
