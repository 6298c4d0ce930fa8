"""``GET /dois/check?email=true&submitter=ADDR``: as NASA's 0.2 document says, the address
of who asks is added to the report's recipients. A real SMTP server on 127.0.0.1 (aiosmtpd)
says who got what: the whole report goes to ``[email] recipients`` plus that address, each
pending record's submitter gets their own part, and nobody else gets anything. A malformed
address is a 400 naming ``submitter``, a submitter token naming someone else a 403; no mail
then."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import pytest
from test_alerts import OPERATORS, Inbox, smtp, with_mail  # noqa: F401  (smtp: a fixture)
from test_api import ALICE, Api, labels_payload, ok, start_api  # noqa: F401  (start_api)

from conftest import Env

ASKER = "asker@example.org"


@pytest.fixture
def pending(
    env: Env,
    smtp: tuple[Inbox, int],  # noqa: F811
    start_api: Callable[[], Api],  # noqa: F811
) -> tuple[Api, Inbox, str]:
    """``organiser serve`` mailing through the test's SMTP server, with one record of ALICE
    in review; give the API, the inbox (empty) and the record's DOI."""
    inbox, port = smtp
    with_mail(env, port)
    api = start_api()
    reserved = api.call(
        "POST", "/dois", params={"action": "reserve", "node": "img"}, json=labels_payload("asked")
    )
    assert reserved.status_code == 200, reserved.text
    ok(env.run("-s"))
    doi = reserved.json()[0]["doi"]
    assert api.call("POST", "/doi/submit", params={"identifier": doi}).status_code == 200
    assert inbox.take() == []
    return api, inbox, doi


def _check(api: Api, token: str, submitter: str) -> tuple[int, str, Mapping[str, str]]:
    answer = api.call("GET", "/dois/check", token, params={"submitter": submitter, "email": "true"})
    return answer.status_code, answer.text, answer.headers  # any case


def test_the_asker_gets_the_whole_report_with_the_operators(
    pending: tuple[Api, Inbox, str],
) -> None:
    api, inbox, doi = pending
    status, text, headers = _check(api, "olive", ASKER)
    assert status == 200, text
    assert headers["X-Email"] == "sent"
    mails = inbox.take()
    whole = [m for m in mails if "pending release on" in m.subject]
    own = [m for m in mails if f"pending release for {ALICE}" in m.subject]
    assert len(mails) == 2 and len(whole) == 1 and len(own) == 1, [m.subject for m in mails]
    assert sorted(whole[0].rcpt) == sorted([*OPERATORS, ASKER])  # one message, one envelope
    assert sorted(whole[0].to) == sorted([*OPERATORS, ASKER])
    assert own[0].rcpt == [ALICE]  # the pending record's submitter: her own part
    for mail in mails:
        assert doi in mail.body
    everyone = {address for mail in mails for address in mail.rcpt}
    assert everyone == {*OPERATORS, ASKER, ALICE}  # nobody else


def test_an_asker_already_among_the_recipients_gets_one_mail(
    pending: tuple[Api, Inbox, str],
) -> None:
    api, inbox, _ = pending
    status, text, _ = _check(api, "olive", OPERATORS[0].upper())
    assert status == 200, text
    rcpts = sorted(address for mail in inbox.take() for address in mail.rcpt)
    assert rcpts == sorted([*OPERATORS, ALICE])

    # a submitter asking (her own address): the whole report, and no second mail of her part
    status, text, _ = _check(api, "alice", ALICE)
    assert status == 200, text
    mails = inbox.take()
    assert [sorted(m.rcpt) for m in mails] == [sorted([*OPERATORS, ALICE])]
    assert "pending release on" in mails[0].subject


@pytest.mark.parametrize(
    "address",
    [
        "not-an-address",
        "asker@example.org, evil@example.net",
        "asker@example.org;evil@example.net",
        "Asker <asker@example.org>",
        "asker@example.org\r\nBcc: evil@example.net",
        "@example.org",
        "asker@",
    ],
)
def test_a_malformed_address_is_a_400_naming_submitter_and_nothing_is_mailed(
    pending: tuple[Api, Inbox, str], address: str
) -> None:
    api, inbox, _ = pending
    status, text, headers = _check(api, "olive", address)
    assert status == 400, text
    [error] = json.loads(text)["errors"]
    assert error["message"] == f"submitter {address!r}: not an email address"
    assert "Traceback" not in text
    assert "X-Email" not in headers
    assert inbox.take() == []


def test_a_submitter_token_may_add_only_its_own_address(
    pending: tuple[Api, Inbox, str],
) -> None:
    api, inbox, _ = pending
    status, text, _ = _check(api, "alice", ASKER)
    assert status == 403, text
    assert f"submitter '{ASKER}': token 'alice' may add only its own address" in text
    assert inbox.take() == []
    # reading the list (no mail) names who asks, nothing more
    read = api.call("GET", "/dois/check", "alice", params={"submitter": ASKER})
    assert read.status_code == 200, read.text
    assert inbox.take() == []
