"""Getting the bytes of a SOURCE: a file, a directory (recursively), or an http(s) URL.

Limits hold for every source: a size limit (checked before reading a file, and while
streaming a URL, after decompression), URL schemes http/https only, a timeout and a bounded
number of redirects.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from organiser.intake.deadline import Deadline

SUFFIXES = (".json", ".xml", ".lblx", ".csv", ".xlsx")


class SourceError(ValueError):
    """A source cannot be read; the message is one line naming it."""


@dataclass(frozen=True)
class Limits:
    """How much intake reads: ``max_bytes`` per source, ``timeout`` seconds for a whole URL
    fetch (connecting, redirects and the body), ``max_redirects``, and ``max_records`` per
    source (None: no limit; the API sets ``[api] max_records``)."""

    max_bytes: int = 10 * 1024 * 1024
    timeout: float = 30.0
    max_redirects: int = 5
    max_records: int | None = None


@dataclass(frozen=True)
class Source:
    """One readable input: ``name`` (path or URL) for messages, ``suffix`` to pick a reader."""

    name: str
    data: bytes
    suffix: str


def is_url(text: str) -> bool:
    """Tell whether ``text`` names a URL rather than a path (any scheme, so that ftp:// or
    file:// are refused by name instead of being looked for as files)."""
    return "://" in text and urlsplit(text).scheme.isalpha()


def expand(names: Iterable[str]) -> list[str]:
    """Give every file and URL named by ``names``, directories searched recursively.

    Raises :class:`SourceError` for a path that does not exist or a directory with no
    metadata files.
    """
    found: list[str] = []
    for name in names:
        if is_url(name):
            found.append(name)
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(_metadata_files(path))
            if not files:
                raise SourceError(
                    f"{name}: directory holds no metadata files ({', '.join(SUFFIXES)})"
                )
            found += files
        elif path.is_file():
            found.append(name)
        else:
            raise SourceError(f"{name}: no such file or directory")
    return found


def _metadata_files(folder: Path) -> list[str]:
    """Give the metadata files below ``folder`` (one directory scan each, no extra stat)."""
    found = []
    for directory, _, files in os.walk(folder):
        found += [os.path.join(directory, f) for f in files if f.lower().endswith(SUFFIXES)]
    return found


def load(name: str, limits: Limits, session: requests.Session | None = None) -> Source:
    """Give the bytes of one file or URL. Raises :class:`SourceError`."""
    if is_url(name):
        return _fetch(name, limits, session or requests.Session())
    path = Path(name)
    try:
        if path.stat().st_size > limits.max_bytes:
            raise SourceError(f"{name}: larger than the {_mb(limits.max_bytes)} limit")
        return Source(name, path.read_bytes(), path.suffix.lower())
    except OSError as exc:
        raise SourceError(f"{name}: cannot read: {exc.strerror}") from None


def _fetch(url: str, limits: Limits, session: requests.Session) -> Source:
    """Give the body of ``url``, the whole fetch (connecting, redirects, headers, body)
    within ``limits.timeout`` seconds. Raises :class:`SourceError`."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise SourceError(f"{url}: only http:// and https:// URLs are read")
    session.max_redirects = limits.max_redirects
    with Deadline(limits.timeout) as deadline:
        deadline.mount(session)
        try:
            with session.get(url, stream=True, timeout=limits.timeout) as answer:
                if urlsplit(answer.url).scheme not in ("http", "https"):
                    raise SourceError(f"{url}: redirected away from http(s)")
                if answer.status_code != 200:
                    raise SourceError(f"{url}: HTTP {answer.status_code} {answer.reason}")
                data = bytearray()
                for chunk in answer.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > limits.max_bytes:
                        raise SourceError(f"{url}: larger than the {_mb(limits.max_bytes)} limit")
                if deadline.expired:  # the socket was shut down: what was read is cut short
                    raise requests.Timeout()
        except requests.TooManyRedirects:
            raise SourceError(f"{url}: more than {limits.max_redirects} redirects") from None
        except requests.RequestException as exc:
            if deadline.expired or isinstance(exc, requests.Timeout):
                raise SourceError(f"{url}: not read within {limits.timeout:g} s") from None
            raise SourceError(f"{url}: cannot fetch ({type(exc).__name__})") from None
    return Source(url, bytes(data), Path(urlsplit(url).path).suffix.lower())


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
