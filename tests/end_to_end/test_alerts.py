"""Email alerts through the installed command: a real SMTP server on 127.0.0.1 receives the
digests, and the tests read them as an operator (or a submitter) would."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import PASSWORD, Env, write_records

OPERATORS = ["ops@example.org", "oncall@example.org"]
SMTP_USER, SMTP_PASSWORD = "organiser-mail", "smtp-secret-0815"


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server received it."""

    sender: str
    rcpt: list[str]  # envelope recipients
    raw: bytes
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> list[str]:
        return [address for _, address in getaddresses([str(self.message["To"])])]

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return part.get_content().replace("\r\n", "\n")


class Inbox:
    """An aiosmtpd handler that keeps every message (and login) it receives."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.logins: list[tuple[str, str]] = []
        self.account = (SMTP_USER, SMTP_PASSWORD)  # the login it accepts
        self.refuse: set[str] = set()  # recipients it answers 550
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), raw, message))
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        with self.lock:
            self.logins.append((login, password))
        # handled=False: the server answers 535 on a refusal (else the client waits)
        return AuthResult(success=(login, password) == self.account, handled=False)

    def take(self) -> list[Mail]:
        """Give the messages received since the last call."""
        with self.lock:
            mails, self.mails = self.mails, []
        return mails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on 127.0.0.1 (no TLS; login offered but not required)."""
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, controller.port
    controller.stop()


def with_mail(env: Env, port: int, **email: str) -> None:
    """Configure alerts through the test's SMTP server; a failed record is retried each run."""
    env.write_config(
        email={
            "smtp_host": "127.0.0.1",
            "smtp_port": str(port),
            "security": "none",
            "sender": "organiser@example.org",
            "recipients": ", ".join(OPERATORS),
            "timeout": "5",
            **email,
        },
        organiser={"retry_delay": "0", "max_retry_delay": "0"},
    )


def reserve(env: Env, folder: str, count: int, start: int, *options: str) -> list[str]:
    """Mark ``count`` new records to-be-reserved; give their DOIs."""
    write_records(env.tmp / folder, count, start=start)
    result = env.run("reserve", *options, str(env.tmp / folder))
    assert result.returncode == 0, result.stderr
    return [line.split("\t")[0] for line in result.stdout.splitlines()]


@pytest.mark.slow
def test_a_lasting_failure_is_mailed_once_and_a_new_one_once_more(
    env: Env, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    with_mail(env, port)
    first = reserve(env, "a", 3, 0)
    env.faults(fail_dois={first[0]: 422})

    for attempt in (1, 2, 3):
        result = env.run("-s")
        assert result.returncode == 1, result.stderr
        assert "warning" not in result.stderr
        bad = env.records()[0]
        assert (bad.doi, bad.status, bad.attempts) == (first[0], "to-be-reserved", attempt)
    [digest] = inbox.take()
    assert digest.sender == "organiser@example.org"
    assert digest.rcpt == OPERATORS and digest.to == OPERATORS
    assert digest.subject.startswith("[organiser] 1 new failure on ")
    body = digest.body
    assert first[0] in body and "urn:nasa:pds:organiser_test_00000::1.0" in body
    assert "422 doi: Forced failure 422" in body
    assert f"organiser --reserve-doi {first[0]}" in body
    assert "attempts    1\n" in body
    assert first[1] not in body and first[2] not in body  # they were reserved

    second = reserve(env, "b", 2, 3)
    env.faults(fail_dois={first[0]: 422, second[1]: 422})
    for _ in range(2):
        assert env.run("-s").returncode == 1
    [digest] = inbox.take()
    assert digest.subject.startswith("[organiser] 1 new failure on ")
    assert second[1] in digest.body and "organiser_test_00004::1.0" in digest.body
    assert "422 doi: Forced failure 422" in digest.body
    assert first[0] not in digest.body and second[0] not in digest.body
    statuses = [r.status for r in env.records()]
    assert statuses == ["to-be-reserved", "reserved", "reserved", "reserved", "to-be-reserved"]


@pytest.mark.slow
def test_failing_again_after_working_is_mailed_again(env: Env, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    with_mail(env, port)
    [doi] = reserve(env, "a", 1, 0)
    assert env.run("-s").returncode == 0
    file = str(env.tmp / "a" / "record_00000.json")
    error = f"PUT /dois/{doi}: 422 doi: Forced failure 422"

    env.faults(fail_dois={doi: 422})
    assert env.run("update", doi, file).returncode == 0
    assert env.run("-u").returncode == 1
    [digest] = inbox.take()
    assert doi in digest.body and error in digest.body
    assert f"organiser --update-doi {doi}" in digest.body

    env.faults()
    assert env.run("-u").returncode == 0  # it works: the failure is over
    record = env.records()[0]
    assert (record.status, record.last_error) == ("reserved", None)
    assert inbox.take() == []  # nothing to report

    env.faults(fail_dois={doi: 422})
    assert env.run("update", doi, file).returncode == 0
    assert env.run("-u").returncode == 1  # the very same error as the first time
    assert env.run("-u").returncode == 1
    [again] = inbox.take()
    assert doi in again.body and error in again.body
    assert again.subject == digest.subject


@pytest.mark.slow
@pytest.mark.parametrize("cause", ["credentials", "unreachable"])
def test_an_outage_is_mailed_when_it_starts_and_when_it_clears(
    env: Env, smtp: tuple[Inbox, int], cause: str
) -> None:
    inbox, port = smtp
    with_mail(env, port)
    env.write_config(datacite={"retries": "1"})
    dois = reserve(env, "a", 4, 0)
    wrong = "not-the-datacite-password-93"
    during: dict[str, str] = {}
    if cause == "credentials":
        during = {"ORGANISER_DATACITE_PASSWORD": wrong}
        reason = "401 DataCite refused the repository credentials"
    else:
        env.faults(outage_after=0)  # every connection refused until the faults change
        reason = "DataCite unreachable for 3 records in a row"

    for _ in range(3):
        result = env.run("-s", env=during)
        assert result.returncode == 75, result.stderr
        assert reason in result.stderr
    [started] = inbox.take()
    assert started.rcpt == OPERATORS
    assert started.subject.startswith("[organiser] DataCite problem on ")
    assert "DataCite problem since " in started.body and reason in started.body
    assert "You get one more mail when it clears" in started.body
    assert "cleared" not in started.subject
    assert "failure" not in started.subject  # no record is blamed for it
    records = env.records()
    assert {r.status for r in records} == {"to-be-reserved"}
    assert all(r.attempts == 0 and r.last_error is None for r in records)
    assert not any(doi in started.body for doi in dois)

    env.faults()
    result = env.run("-s")
    assert result.returncode == 0, result.stderr
    assert {r.status for r in env.records()} == {"reserved"}
    [cleared] = inbox.take()
    assert cleared.subject.startswith("[organiser] DataCite problem cleared on ")
    assert "DataCite problem cleared at " in cleared.body and reason in cleared.body
    assert not any(doi in cleared.body for doi in dois)

    assert env.run("-s").returncode == 0
    assert inbox.take() == []
    for mail in (started, cleared):
        assert wrong.encode() not in mail.raw and PASSWORD.encode() not in mail.raw


@pytest.mark.slow
def test_mail_down_the_run_completes_and_the_alert_goes_out_with_the_next_run(
    env: Env, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    closed = free_port()  # nothing listens there
    with_mail(env, closed)
    dois = reserve(env, "a", 3, 0)
    env.faults(fail_dois={dois[1]: 422})

    result = env.run("-s")
    assert result.returncode == 1  # as without mail: one record failed
    assert result.stdout.strip() == "reserve: 2 done, 1 failed, 0 skipped"
    [warning] = [line for line in result.stderr.splitlines() if "alert not sent" in line]
    assert warning.startswith("warning: alert not sent (it goes out with the next run): ")
    assert f"127.0.0.1:{closed}" in warning
    assert [r.status for r in env.records()] == ["reserved", "to-be-reserved", "reserved"]
    assert env.remote == {dois[0]: "draft", dois[2]: "draft"}
    assert inbox.take() == []

    with_mail(env, port)
    again = env.run("-s")
    assert again.returncode == 1 and "warning" not in again.stderr
    [digest] = inbox.take()
    assert dois[1] in digest.body and "422 doi: Forced failure 422" in digest.body
    assert dois[0] not in digest.body and dois[2] not in digest.body
    assert env.run("-s").returncode == 1
    assert inbox.take() == []


@pytest.mark.slow
def test_a_push_while_datacite_is_unreachable_does_not_clear_the_outage(
    env: Env, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    with_mail(env, port)
    env.write_config(datacite={"retries": "1"})
    dois = reserve(env, "a", 3, 0)
    env.faults(outage_after=0)
    assert env.run("-s").returncode == 75
    [started] = inbox.take()
    assert started.subject.startswith("[organiser] DataCite problem on ")

    # one record alone is below the outage threshold: it fails for itself, the outage goes on
    result = env.run("--reserve-doi", dois[0])
    assert result.returncode == 1, result.stderr
    [failure] = inbox.take()
    assert failure.subject.startswith("[organiser] 1 new failure on ")
    assert dois[0] in failure.body and "DataCite unreachable" in failure.body
    assert "temporary, tried again automatically" in failure.body

    env.faults()
    assert env.run("-s").returncode == 0
    [cleared] = inbox.take()
    assert cleared.subject.startswith("[organiser] DataCite problem cleared on ")


@pytest.mark.slow
def test_mail_down_while_an_outage_clears_and_comes_back(env: Env, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    with_mail(env, port)
    reserve(env, "a", 2, 0)
    wrong = {"ORGANISER_DATACITE_PASSWORD": "wrong-password-12"}
    assert env.run("-s", env=wrong).returncode == 75
    [started] = inbox.take()
    since = re.search(r"DataCite problem since (.+) UTC:", started.body)
    assert since

    with_mail(env, free_port())
    result = env.run("-s")  # DataCite is back, the mail server is not: "cleared" waits
    assert result.returncode == 0
    assert "warning: alert not sent (it goes out with the next run)" in result.stderr
    reserve(env, "b", 1, 2)
    result = env.run("-s", env=wrong)  # back before the operators heard it had cleared
    assert result.returncode == 75
    assert "warning" not in result.stderr  # nothing to tell: for them it never ended
    with_mail(env, port)
    assert env.run("-s", env=wrong).returncode == 75
    assert inbox.take() == []  # no second "started"

    assert env.run("-s").returncode == 0
    [cleared] = inbox.take()
    assert cleared.subject.startswith("[organiser] DataCite problem cleared on ")
    assert f"(since {since.group(1)} UTC)" in cleared.body
    assert {r.status for r in env.records()} == {"reserved"}


@pytest.mark.slow
def test_submitters_get_their_own_failures_the_operators_all(
    env: Env, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    with_mail(env, port, notify_submitters="true")
    alice = reserve(env, "alice", 2, 0, "--submitter", "alice@example.org")
    bob = reserve(env, "bob", 2, 2, "--submitter", "bob@example.org")
    nobody = reserve(env, "nobody", 1, 4)
    failing = [alice[0], bob[1], nobody[0]]
    env.faults(fail_dois=dict.fromkeys(failing, 422))

    assert env.run("-s").returncode == 1
    mails = {tuple(m.rcpt): m for m in inbox.take()}
    assert set(mails) == {tuple(OPERATORS), ("alice@example.org",), ("bob@example.org",)}
    operators = mails[tuple(OPERATORS)]
    assert operators.subject.startswith("[organiser] 3 new failures on ")
    assert all(doi in operators.body for doi in failing)
    assert alice[1] not in operators.body and bob[0] not in operators.body

    to_alice = mails[("alice@example.org",)]
    assert to_alice.to == ["alice@example.org"]
    assert to_alice.subject.startswith("[organiser] 1 new failure on ")
    assert alice[0] in to_alice.body and "422 doi: Forced failure 422" in to_alice.body
    assert all(doi not in to_alice.body for doi in [alice[1], *bob, *nobody])
    assert "organiser --" not in to_alice.body  # commands are for the operators
    to_bob = mails[("bob@example.org",)]
    assert bob[1] in to_bob.body
    assert all(doi not in to_bob.body for doi in [*alice, bob[0], *nobody])

    assert env.run("-s").returncode == 1  # the same failures: nobody hears again
    assert inbox.take() == []


@pytest.mark.slow
def test_no_secret_in_any_mail_and_the_mailer_logs_in(env: Env, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    with_mail(env, port, username=SMTP_USER, password=SMTP_PASSWORD, notify_submitters="true")
    dois = reserve(env, "a", 3, 0, "--submitter", "alice@example.org")
    env.faults(fail_dois={dois[0]: 422})
    assert env.run("-s").returncode == 1  # a failure digest (operators and submitter)
    wrong = "wrong-datacite-password-77"
    env.faults()
    assert env.run("-s", env={"ORGANISER_DATACITE_PASSWORD": wrong}).returncode == 75
    assert env.run("-s").returncode == 0  # the outage clears
    mails = inbox.take()
    assert len(mails) == 4  # failure (operators, submitter), outage started, outage cleared
    assert inbox.logins and set(inbox.logins) == {(SMTP_USER, SMTP_PASSWORD)}
    for mail in mails:
        for secret in (PASSWORD, SMTP_PASSWORD, wrong):
            assert secret.encode() not in mail.raw
            assert secret not in mail.body

    # a refused login: the warning names the server, not the password
    with_mail(env, port, password="refused-password-5150")
    env.faults(fail_dois={dois[1]: 422})
    env.ok("update", dois[1], str(env.tmp / "a" / "record_00001.json"))
    result = env.run("-u")
    assert result.returncode == 1
    assert "warning: alert not sent" in result.stderr
    assert "refused-password-5150" not in result.stderr + result.stdout
    assert inbox.logins[-1] == (SMTP_USER, "refused-password-5150")  # it did try
    assert inbox.take() == []


@pytest.mark.slow
def test_a_refused_submitter_address_holds_up_nobody(env: Env, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    inbox.refuse = {"gone@example.org"}
    with_mail(env, port, notify_submitters="true")
    gone = reserve(env, "g", 1, 0, "--submitter", "gone@example.org")
    bob = reserve(env, "b", 1, 1, "--submitter", "bob@example.org")
    env.faults(fail_dois={gone[0]: 422, bob[0]: 422})

    result = env.run("-s")
    assert result.returncode == 1
    mails = {tuple(m.rcpt): m for m in inbox.take()}
    assert set(mails) == {tuple(OPERATORS), ("bob@example.org",)}
    assert bob[0] in mails[("bob@example.org",)].body
    assert gone[0] not in mails[("bob@example.org",)].body
    [warning] = [line for line in result.stderr.splitlines() if "gone@example.org" in line]
    assert warning.startswith("warning: alert not delivered (not tried again): ")
    assert "gone@example.org: 550 5.1.1 No such user here" in warning

    again = env.run("-s")  # the same failures: the refused address is not tried again
    assert again.returncode == 1 and "warning" not in again.stderr
    assert inbox.take() == []


def test_a_login_that_is_not_ascii(env: Env, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    inbox.account = ("organiser-mäil", "pässwort-€-0815")
    with_mail(env, port, username="organiser-mäil", password="pässwort-€-0815")
    [doi] = reserve(env, "a", 1, 0)
    env.faults(fail_dois={doi: 422})

    result = env.run("-s")
    assert result.returncode == 1, result.stderr
    assert "warning" not in result.stderr
    assert inbox.logins == [("organiser-mäil", "pässwort-€-0815")]
    [digest] = inbox.take()
    assert doi in digest.body
    assert "pässwort".encode() not in digest.raw
