"""The alert digest: what went wrong since the last mail, as one readable message."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from organiser.domain.passes import BY_NAME
from organiser.notify.advice import next_step, outage_step
from organiser.storage.models import Notice
from organiser.storage.notices import CLEARED, DRIFT, SYSTEMIC


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
    drift = next((n for n in notices if n.key == DRIFT), None)
    topics = []
    if started is not None:
        topics.append("DataCite problem")
    if cleared is not None:
        topics.append("DataCite problem cleared")
    if failures:
        topics.append(f"{len(failures)} new failure{'s' if len(failures) != 1 else ''}")
    if drift is not None:
        topics.append("drift from DataCite")
    subject = f"[organiser] {', '.join(topics)} on {host}"
    lines = []
    if for_submitter:
        lines += [
            f"Some DOI records you submitted could not be sent to DataCite (organiser on {host}).",
            "",
        ]
    if started is not None:
        detail = json.loads(started.detail)
        lines += [
            f"DataCite problem since {detail['since']} UTC:",
            f"  {detail['reason']}",
            "",
            "Runs stop at once while it lasts. No record is marked failed because of it and",
            "nothing is lost: records wait in their state and go out once DataCite answers.",
            f"Next step: {outage_step(detail['reason'])}.",
            "You get one more mail when it clears.",
            "",
        ]
    if cleared is not None:
        detail = json.loads(cleared.detail)
        lines += [
            f"DataCite problem cleared at {detail['cleared']} UTC (since {detail['since']} UTC):",
            f"  {detail['reason']}",
            "",
            "Runs reach DataCite again; the records that waited go out as they come due.",
            "",
        ]
    if failures:
        lines += [f"New failures ({len(failures)}):", ""]
        for notice in failures:
            lines += [*_failure(json.loads(notice.detail), notice.at, bool(for_submitter)), ""]
        if for_submitter:
            lines += [
                'A failure marked "needs a fix" repeats until the record\'s metadata is corrected:',
                "please send a corrected version, or ask the repository's operators. Temporary",
                "failures are tried again automatically. You hear again about a record only if",
                "it fails differently, or fails again after it worked.",
            ]
        else:
            lines += [
                "A failing record keeps its state and is tried again at its next try; marking",
                "it again or pushing it by hand (the command under each failure) tries it at",
                "once. Each failure is mailed once: you hear again about a record only if it",
                "fails differently, or fails again after it worked.",
            ]
    if drift is not None:
        lines += _drift(json.loads(drift.detail))
    return Message(subject, "\n".join(lines).rstrip() + "\n")


def _drift(detail: dict) -> list[str]:
    """The digest section of a drift check: its summary and one line per difference."""
    shown = detail["lines"]
    lines = [
        f"Drift from DataCite (organiser check at {detail['at']} UTC):",
        f"  {detail['summary']}",
    ]
    lines += ["", "  DOI\tidentifier\tfield\tlocal\tDataCite"]
    lines += [f"  {line}" for line in shown]
    if detail["differences"] > len(shown):
        lines.append(f"  … and {detail['differences'] - len(shown)} more: run 'organiser check'")
    repair = (
        "They are marked for repair: the next run sends the local metadata again."
        if detail["repaired"]
        else "'organiser check --repair' marks them so that the next run sends the local "
        "metadata again (nothing is deleted at DataCite)."
    )
    return [*lines, "", repair, ""]


def _failure(d: dict, at: datetime | str | None, for_submitter: bool) -> list[str]:
    kind = "temporary, tried again automatically" if d.get("transient") else "needs a fix"
    lines = [
        f"  DOI         {d['doi']}",
        f"  identifier  {d['identifier']}",
        f"  node        {d.get('node') or '-'}",
        *([f"  account     {d['account']}"] if d.get("account") else []),  # several
        f"  action      {d['action']} ({kind})",
        f"  error       {d['error']}",
        f"  next step   {next_step(d, for_submitter)}",
    ]
    if at:
        lines.append(f"  failed at   {_minutes(at)} UTC")
    lines += [
        f"  attempts    {d['attempts']}",
        f"  next try    {d['retry_at']} UTC",
    ]
    if not for_submitter:
        step = BY_NAME.get(d["action"], BY_NAME["update"])
        lines.append(f"  try now     organiser {step.push_flag} {d['doi']}")
    return lines


def _minutes(at: datetime | str) -> str:
    if isinstance(at, str):  # a database that gives the text it stored
        return at[:16]
    return at.isoformat(" ", "minutes")
