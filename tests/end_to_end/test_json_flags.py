"""``--json`` on ``token list`` and ``config check``: what a script reads is the same as the
text shows, secrets masked the same way, and errors stay one line on stderr with exit 2."""

from __future__ import annotations

import json

from conftest import PASSWORD, Env


def test_token_list_json_gives_every_token_without_secrets(env: Env) -> None:
    reader = env.ok("token", "add", "kiosk", "--role", "reader").stdout.strip()
    env.ok("token", "add", "alice", "--role", "submitter", "--email", "alice@example.org")
    env.ok("token", "revoke", "kiosk")
    result = env.ok("token", "list", "--json")
    rows = json.loads(result.stdout)
    assert [(r["name"], r["role"], r["email"]) for r in rows] == [
        ("alice", "submitter", "alice@example.org"),
        ("kiosk", "reader", None),
    ]
    assert rows[0]["revoked_at"] is None and rows[1]["revoked_at"] is not None
    assert rows[0]["created_at"][:2] == "20" and set(rows[0]) == {
        "name",
        "role",
        "email",
        "created_at",
        "revoked_at",
    }
    assert reader not in result.stdout


def test_token_list_needs_a_database_and_lists_revoked_tokens(env: Env) -> None:
    missing = env.run("token", "list", "--json")  # only reads: no database is created
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr.startswith("Error: no database at")
    assert not (env.tmp / "organiser.db").exists()
    env.ok("token", "add", "t", "--role", "reader")
    env.ok("token", "revoke", "t")
    assert [row["name"] for row in json.loads(env.ok("token", "list", "--json").stdout)] == ["t"]


def test_config_check_json_masks_as_the_text_does(env: Env) -> None:
    env.write_config(datacite={"url": "https://user:url-secret@api.test.datacite.org"})
    result = env.run("config", "check", "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["ok"] is True
    assert found["source"] in found["files"]
    datacite = found["values"]["datacite"]
    assert datacite["url"] == "https://user:***@api.test.datacite.org"
    assert datacite["password"] == "***"
    assert datacite["username"] == "DEMO.ORGANISER"
    assert isinstance(datacite["workers"], int)
    assert "url-secret" not in result.stdout and PASSWORD not in result.stdout


def test_config_check_json_with_a_missing_key_is_an_error_line_and_exit_2(env: Env) -> None:
    env.write_config(datacite={"prefix": ""})
    result = env.run("config", "check", "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and "prefix" in result.stderr
    assert "Traceback" not in result.stderr
