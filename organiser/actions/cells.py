"""The cells of the CSV files organiser gives people (the web UI's export, the mailed
pending-release report): text that a spreadsheet would run as a formula is shown as text."""

from __future__ import annotations

#: What a spreadsheet takes a cell that starts with as a formula (OWASP's list).
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """Give ``value`` as a CSV cell: empty for None; text that starts with = + - @, a tab
    or a carriage return behind a ``'`` (so that a spreadsheet shows it and never runs it:
    CSV injection); anything else as it is."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in FORMULA:
        return "'" + value
    return value
