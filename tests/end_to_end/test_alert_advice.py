"""Alert mails an operator can act on: each is marked ``Auto-Submitted: auto-generated``
(RFC 3834, so no out-of-office answer comes back), and each failure says what to do next,
by its kind (a 422 names the field DataCite refused). A real SMTP server on 127.0.0.1
receives them."""

from __future__ import annotations

import pytest
from test_alerts import OPERATORS, Inbox, reserve, smtp, with_mail  # noqa: F401  (a fixture)

from organiser.notify.mailer import Mailer, MailSettings

from conftest import Env


def _entry(body: str, doi: str) -> dict[str, str]:
    """Give one failure's lines of a digest (``DOI``, ``error``, ``next step`` …) by name."""
    lines = body.splitlines()
    start = lines.index(f"  DOI         {doi}")
    entry = {}
    for line in lines[start:]:
        if not line.strip():
            break
        entry[line[2:14].strip()] = line[14:]
    return entry


@pytest.mark.slow
@pytest.mark.parametrize(
    ("status", "kind", "step"),
    [
        (
            422,
            "needs a fix",
            "DataCite refused doi: correct it in the metadata, then 'organiser update {doi} "
            "FILE' gives the record the corrected version",
        ),
        (403, "needs a fix", "DataCite does not let this account change the DOI: check "),
        (404, "needs a fix", "DataCite does not know {doi} (deleted there"),
        (
            503,
            "temporary, tried again automatically",
            "nothing to do: it is tried again automatically at 20",
        ),
    ],
)
def test_each_failure_says_what_to_do_next(
    env: Env,
    smtp: tuple[Inbox, int],  # noqa: F811
    status: int,
    kind: str,
    step: str,
) -> None:
    inbox, port = smtp
    with_mail(env, port)
    dois = reserve(env, "a", 2, 0)
    env.ok("-s")
    env.ok("register", *dois)
    env.faults(fail_dois={dois[0]: status})

    assert env.run("-r").returncode == 1

    [digest] = inbox.take()
    assert digest.message["Auto-Submitted"] == "auto-generated"
    assert digest.rcpt == OPERATORS
    entry = _entry(digest.body, dois[0])
    assert entry["action"] == f"register ({kind})"
    assert f"{status} doi: Forced failure {status}" in entry["error"]
    assert entry["next step"].startswith(step.format(doi=dois[0])), entry["next step"]
    assert entry["try now"] == f"organiser --register-doi {dois[0]}"
    assert [r.status for r in env.records()] == ["to-be-registered", "registered"]


@pytest.mark.slow
def test_a_submitter_is_told_which_field_to_correct(
    env: Env,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    with_mail(env, port, notify_submitters="true")
    [doi] = reserve(env, "a", 1, 0, "--submitter", "ann@example.org")
    env.faults(fail_dois={doi: 422})

    assert env.run("-s").returncode == 1

    mails = {tuple(m.rcpt): m for m in inbox.take()}
    to_ann = mails[("ann@example.org",)]
    assert to_ann.message["Auto-Submitted"] == "auto-generated"
    assert _entry(to_ann.body, doi)["next step"] == (
        "correct doi in your metadata and send a corrected version"
    )
    assert "organiser --" not in to_ann.body and "organiser update" not in to_ann.body


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cause", "step"),
    [
        ("credentials", "Next step: check [datacite] username and password"),
        ("unreachable", "Next step: nothing to do if it is DataCite's side"),
    ],
)
def test_an_outage_says_what_to_do_next(
    env: Env,
    smtp: tuple[Inbox, int],  # noqa: F811
    cause: str,
    step: str,
) -> None:
    inbox, port = smtp
    with_mail(env, port)
    env.write_config(datacite={"retries": "1"})
    reserve(env, "a", 3, 0)
    during: dict[str, str] = {}
    if cause == "credentials":
        during = {"ORGANISER_DATACITE_PASSWORD": "not-the-password"}
    else:
        env.faults(outage_after=0)

    assert env.run("-s", env=during).returncode == 75

    [started] = inbox.take()
    assert started.message["Auto-Submitted"] == "auto-generated"
    assert step in started.body
    assert "You get one more mail when it clears." in started.body
    assert {r.status for r in env.records()} == {"to-be-reserved"}


def test_every_mail_is_marked_auto_generated(smtp: tuple[Inbox, int]) -> None:  # noqa: F811
    """The report mail too: a person asks for it, but nobody wrote it."""
    inbox, port = smtp
    mailer = Mailer(MailSettings("127.0.0.1", port, "none", sender="organiser@example.org"))
    refused = mailer.send(["ops@example.org"], "[organiser] pending release", "body\n")
    assert refused == {}
    [mail] = inbox.take()
    assert mail.message.get_all("Auto-Submitted") == ["auto-generated"]
    assert mail.message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert mail.body == "body\n"
