"""The alert digest: what went wrong since the last mail, as one readable message."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from organiser.storage.models import Notice
from organiser.storage.notices import CLEARED, SYSTEMIC

PUSH_FLAG = {"update": "--update-doi", "reserve": "--reserve-doi", "register": "--register-doi"}
PUSH_FLAG["delete"] = "--delete-doi"


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def compose(notices: Sequence[Notice], host: str, for_submitter: str | None = None) -> Message:
    """Give the digest of ``notices`` (record failures, outage started or cleared) written
    on ``host``; ``for_submitter`` addresses it to one submitter about their records."""
    failures = [n for n in notices if n.key.startswith("record:")]
    started = next((n for n in notices if n.key == SYSTEMIC), None)
    cleared = next((n for n in notices if n.key == CLEARED), None)
    topics = []
    if started is not None:
        topics.append("DataCite problem")
    if cleared is not None:
        topics.append("DataCite problem cleared")
    if failures:
        topics.append(f"{len(failures)} new failure{'s' if len(failures) != 1 else ''}")
    subject = f"[organiser] {', '.join(topics)} on {host}"
    lines = []
    if for_submitter:
        lines += [f"These DOI records you submitted could not be sent to DataCite ({host}).", ""]
    if started is not None:
        detail = json.loads(started.detail)
        lines += [
            f"DataCite problem since {detail['since']} UTC:",
            f"  {detail['reason']}",
            "Runs stop at once while it lasts; no record is marked failed because of it and",
            "nothing is lost. You get one more mail when it clears.",
            "",
        ]
    if cleared is not None:
        detail = json.loads(cleared.detail)
        lines += [
            f"DataCite problem cleared at {detail['cleared']} UTC (since {detail['since']} UTC):",
            f"  {detail['reason']}",
            "",
        ]
    if failures:
        lines += [f"New failures ({len(failures)}):", ""]
        for notice in failures:
            lines += [*_failure(json.loads(notice.detail)), ""]
        lines += [
            "A failing record keeps its state and is tried again at its next try; marking it",
            "again or pushing it by hand (organiser --register-doi ID, ...) tries it at once.",
            "Each failure is mailed once; you hear again only if it fails differently, or",
            "fails again after it worked.",
        ]
    return Message(subject, "\n".join(lines).rstrip() + "\n")


def _failure(d: dict) -> list[str]:
    kind = "transient, retried automatically" if d.get("transient") else "needs a change"
    return [
        f"  DOI         {d['doi']}",
        f"  identifier  {d['identifier']}",
        f"  node        {d.get('node') or '-'}",
        f"  action      {d['action']} ({kind})",
        f"  error       {d['error']}",
        f"  attempts    {d['attempts']}",
        f"  next try    {d['retry_at']} UTC, or now with: organiser "
        f"{PUSH_FLAG.get(d['action'], '--update-doi')} {d['doi']}",
    ]
