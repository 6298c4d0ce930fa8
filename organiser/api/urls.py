"""Which ``url`` the API fetches: only http(s) URLs on a host of ``[api] url_hosts``,
checked before any connection is made, and again before each redirect is followed.

A host named in ``url_hosts`` by its name must resolve only to public addresses (a name
that resolves to a loopback, private, link-local or otherwise non-global address is refused),
so that the API cannot be used to reach the server's own or internal services; an address
written in ``url_hosts`` as an IP address is allowed as it is (the operator named it).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

from organiser.errors import UserError
from organiser.intake.sources import Limits, Source, SourceError, load


class UrlRefused(UserError):
    """The API will not fetch this URL; one line naming it and why."""


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def check(url: str, allowed: Iterable[str]) -> None:
    """Refuse ``url`` unless it is http(s) on a host of ``allowed`` that resolves to public
    addresses only (or is an address listed in ``allowed``). Makes no connection (a name is
    looked up in DNS). Raises :class:`UrlRefused`."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise UrlRefused(f"{url}: only http:// and https:// URLs are read")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused(f"{url}: a URL with a user or password is not fetched")
    try:
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        raise UrlRefused(f"{url}: not a valid port") from None
    if not host:
        raise UrlRefused(f"{url}: no host")
    literal = _address(host)
    name = str(literal) if literal is not None else host
    hosts = set(allowed)
    if name not in hosts:
        raise UrlRefused(f"{url}: host {name} is not in [api] url_hosts; it is not fetched")
    if literal is not None:
        return  # an address the operator listed
    try:
        found = socket.getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        raise UrlRefused(f"{url}: host {host} cannot be resolved") from None
    for *_, sockaddr in found:
        address = _address(str(sockaddr[0]).split("%")[0])
        if address is None or not address.is_global:
            raise UrlRefused(
                f"{url}: host {host} resolves to {sockaddr[0]}, not a public address; "
                "it is not fetched"
            )


class CheckedSession(requests.Session):
    """A session that checks every request it sends (a redirect's too) with :func:`check`
    before connecting."""

    def __init__(self, allowed: Iterable[str]) -> None:
        super().__init__()
        self.allowed = tuple(allowed)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        check(str(request.url), self.allowed)
        return super().send(request, **kwargs)


def fetch(url: str, allowed: Iterable[str], limits: Limits) -> Source:
    """Give the body of ``url`` as intake reads sources (size limit, redirects, and one
    deadline for the whole fetch, see :mod:`organiser.intake.deadline`), the URL and each
    redirect checked first. How many run at once is :class:`organiser.api.limits.FetchGate`'s
    to bound. Raises :class:`UrlRefused` (not fetched) or
    :class:`UserError` (the fetch failed, the same line the CLI prints)."""
    check(url, allowed)
    session = CheckedSession(allowed)
    try:
        return load(url, limits, session)
    except SourceError as exc:
        raise UserError(str(exc)) from None
    finally:
        session.close()
