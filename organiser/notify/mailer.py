"""Sending mail through the standard library's ``smtplib``: the SMTP seam."""

from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from organiser.errors import OrganiserError

DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


class MailError(OrganiserError):
    """The SMTP server could not be reached or refused the message; ``str()`` says why
    (never with the password)."""


class RecipientRefused(MailError):
    """The server refused every recipient for good (a 5xx answer to each): sending the same
    message again will not help."""


@dataclass(frozen=True)
class MailSettings:
    """``[email]`` as the mailer needs it."""

    host: str
    port: int = 0
    security: str = "starttls"  # starttls, ssl or none
    username: str = ""
    password: str = ""
    sender: str = ""
    timeout: float = 30.0


class Mailer:
    """Sends plain-text messages, optionally with one attachment, each marked
    ``Auto-Submitted: auto-generated`` (RFC 3834)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        attachment: tuple[str, str, bytes] | None = None,
    ) -> dict[str, str]:
        """Send one message to ``to``; ``attachment`` is (file name, MIME type, content).
        Give the recipients the server refused (address -> its answer) when it took the
        message for the others.

        Raises :class:`RecipientRefused` if the server refuses every recipient for good,
        :class:`MailError` if it cannot be reached or refuses the message otherwise.
        """
        s = self.settings
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.sender, ", ".join(to), subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        # RFC 3834: written by a program, so no vacation or out-of-office answer comes back
        # (a report asked for by a person too: nobody wrote it); Exchange reads the second
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
        message.set_content(body)
        if attachment is not None:
            name, mime, content = attachment
            main, _, sub = mime.partition("/")
            message.add_attachment(content, maintype=main, subtype=sub, filename=name)
        port = s.port or DEFAULT_PORTS[s.security]
        try:
            if s.security == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                server = smtplib.SMTP(s.host, port, timeout=s.timeout)
            with server:
                if s.security == "starttls":
                    server.starttls(context=ssl.create_default_context())
                if s.username:
                    _login(server, s.username, s.password)
                refused = server.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = {a: _answer(code, text) for a, (code, text) in exc.recipients.items()}
            kind = (
                RecipientRefused if all(c >= 500 for c, _ in exc.recipients.values()) else MailError
            )
            detail = "; ".join(f"{a}: {answer}" for a, answer in answers.items())
            raise kind(f"{s.host}:{port} refused the recipients: {detail}") from None
        except (OSError, smtplib.SMTPException, UnicodeError) as exc:
            detail = str(exc).replace(s.password, "***") if s.password else str(exc)
            raise MailError(
                f"cannot send mail through {s.host}:{port}: {type(exc).__name__}: {detail}"
            ) from None
        return {address: _answer(code, text) for address, (code, text) in refused.items()}


def _login(server: smtplib.SMTP, username: str, password: str) -> None:
    """Log in; smtplib only sends ASCII credentials, so others go as UTF-8 with AUTH PLAIN
    (RFC 4616)."""
    if (username + password).isascii():
        server.login(username, password)
        return
    server.ehlo_or_helo_if_needed()
    if "PLAIN" not in server.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPNotSupportedError(
            "the server offers no AUTH PLAIN, needed for a login or password that is not ASCII"
        )
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, answer = server.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _answer(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {text}".strip()
