"""Keeping secrets out of what is shown: URLs with credentials in them."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
_QUERY_SECRET = re.compile(r"((?:^|[?&;])(?:password|passwd|pwd)=)[^&;#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """Give ``url`` with the password of its ``user:password@`` part and any ``password=``
    query parameter replaced by ``***``."""
    head, sep, tail = url.partition("://")
    if not sep:
        return url
    if "@" in tail.split("/", 1)[0] or ("@" in tail and "/" not in tail):
        creds, _, host = tail.rpartition("@")
        tail = f"{creds.split(':', 1)[0]}:{MASK}@{host}"
    return f"{head}://{_QUERY_SECRET.sub(lambda m: m.group(1) + MASK, tail)}"


def url_secrets(url: str) -> list[str]:
    """Give the passwords written in ``url`` (user:password@ and password= parameters)."""
    found = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found.append(parts.password)
        found += [
            v for k, v in parse_qsl(parts.query) if k.lower() in ("password", "passwd", "pwd")
        ]
    except ValueError:
        tail = url.partition("://")[2]
        creds = tail.rpartition("@")[0]
        if ":" in creds:
            found.append(creds.split(":", 1)[1])
    return [secret for secret in found if secret]
