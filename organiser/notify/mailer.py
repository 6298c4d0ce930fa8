"""Sending mail through the standard library's ``smtplib``: the SMTP seam."""

from __future__ import annotations

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
    """Sends plain-text messages, optionally with one attachment."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        attachment: tuple[str, str, bytes] | None = None,
    ) -> None:
        """Send one message to ``to``; ``attachment`` is (file name, MIME type, content).

        Raises :class:`MailError` if the server cannot be reached or refuses it.
        """
        s = self.settings
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.sender, ", ".join(to), subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
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
                    server.login(s.username, s.password)
                server.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            detail = str(exc).replace(s.password, "***") if s.password else str(exc)
            raise MailError(
                f"cannot send mail through {s.host}:{port}: {type(exc).__name__}: {detail}"
            ) from None
