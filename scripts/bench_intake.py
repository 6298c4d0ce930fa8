"""Benchmark: intake speed, labels/s for parse + crosswalk + validate + insert.

    .venv/bin/python scripts/bench_intake.py [LABELS]

Writes LABELS PDS4 labels (variants of real fixture labels, each with its own LID and title)
to a temporary directory, then times the installed ``organiser reserve DIR --node img``
end to end (one transaction for the batch) against a fresh SQLite database, and prints a
breakdown of the in-process stages on the same files.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from organiser import intake, marking, safexml
from organiser.app import utcnow
from organiser.db import open_database
from organiser.identifiers import DoiScheme
from organiser.pds4 import Crosswalk, crosswalk
from organiser.validate import schema_errors

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    "bundle_insight_cameras_author_editor_list.xml",
    "bundle_voyager2_pws_list_author_orcid_ror.xml",
    "collection_cassini_mag_list_author_person_org_contributor.xml",
    "document_mars2020_sample_dossier_release_notes_no_authors.lblx",
]
BIN = Path(sys.executable).parent


def write_labels(folder: Path, count: int) -> None:
    """Write ``count`` labels cycling through the templates, each with a unique LID/title."""
    texts = [
        (ROOT / "tests" / "data" / "pds4" / name).read_bytes().decode("utf-8-sig")
        for name in TEMPLATES
    ]
    for n in range(count):
        text = texts[n % len(texts)]
        start = text.index("<logical_identifier>") + len("<logical_identifier>")
        end = text.index("</logical_identifier>")
        text = f"{text[:start]}urn:nasa:pds:bench_{n:06d}{text[end:]}"
        start = text.index("<title>") + len("<title>")
        text = f"{text[:start]}Bench {n:06d} {text[start:]}"
        text = text.replace("<doi>", "<!-- doi removed: ").replace("</doi>", " -->")
        (folder / f"label_{n:06d}.xml").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", nargs="?", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "labels"
        folder.mkdir()
        write_labels(folder, args.labels)
        config = Path(tmp) / "organiser.ini"
        config.write_text(
            f"[datacite]\nusername = BENCH\npassword = x\nprefix = 10.5072\n"
            f"[database]\nurl = sqlite:///{tmp}/cli.db\n"
        )
        env = dict(os.environ, ORGANISER_CONFIG=str(config))
        started = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "organiser"), "reserve", str(folder), "--node", "img"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        marked = len(done.stdout.splitlines())
        print(
            f"organiser reserve DIR: {marked} labels in {elapsed:.2f} s = "
            f"{marked / elapsed:.0f} labels/s (exit {done.returncode}, whole command)"
        )

        files = sorted(folder.iterdir())
        stages: dict[str, float] = {}

        def timed(name: str, work):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            result = work()
            stages[name] = time.perf_counter() - started
            return result

        datas = timed("read files", lambda: [f.read_bytes() for f in files])
        roots = timed("parse (lxml)", lambda: [safexml.parse(d) for d in datas])
        labels = timed("crosswalk", lambda: [crosswalk(r, "img", Crosswalk()) for r in roots])
        timed(
            "validate (schema 4.5)", lambda: [schema_errors(lb.attributes, lb.url) for lb in labels]
        )
        open_database(f"sqlite:///{tmp}/stages.db")
        items = intake.read_all([str(folder)], intake.Options(DoiScheme("10.5072"), node="img"))
        plan = timed(
            "check database + choose DOIs",
            lambda: marking.plan_reserve(
                items, DoiScheme("10.5072"), "img", None, versioned=False, force=False
            ),
        )
        timed("insert (one transaction)", lambda: marking.reserve(plan, "bench", utcnow()))
        for name, seconds in stages.items():
            print(f"  {name:30s} {seconds:6.2f} s  {args.labels / seconds:8.0f} labels/s")


if __name__ == "__main__":
    main()
