"""Parsing untrusted XML: no entity expansion, no DTD, no network, a size limit."""

from __future__ import annotations

from lxml import etree

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_PROLOG = 64 * 1024  # a DOCTYPE can only come before the root element
_DOCTYPE_MARKERS = tuple("<!DOCTYPE".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))


class XmlError(ValueError):
    """The bytes are not acceptable XML; the message is one line (without the file name)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        remove_blank_text=True,  # whitespace between elements means nothing here
    )


def parse(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Give the root element of ``data``.

    Raises :class:`XmlError` for an empty, oversized, malformed document, or one with a
    DOCTYPE (labels and DataCite XML never need one; entities are how XML attacks come).
    """
    if len(data) > max_bytes:
        raise XmlError(f"larger than the {max_bytes // (1024 * 1024)} MB limit")
    if not data.strip():
        raise XmlError("empty file")
    if any(marker in data[:_PROLOG] for marker in _DOCTYPE_MARKERS):
        raise XmlError("DOCTYPE declarations are not accepted")  # refused before any parsing
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        message = (str(exc).splitlines() or ["syntax error"])[0]
        raise XmlError(f"not well-formed XML: {message}") from None
    if root.getroottree().docinfo.doctype:
        raise XmlError("DOCTYPE declarations are not accepted")
    return root
