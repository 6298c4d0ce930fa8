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

from organiser import intake
from organiser.actions import mark as marking
from organiser.app import utcnow
from organiser.domain.identifiers import DoiScheme
from organiser.intake import safexml
from organiser.intake.formats.pds4 import Crosswalk, crosswalk
from organiser.intake.validate import schema_errors
from organiser.storage.database import open_database

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
        # the Cassini label's ORCID has a wrong check digit (refused since issue 8)
        text = text.replace("0000-0001-5109-0000", "0000-0001-5109-0008")
        (folder / f"label_{n:06d}.xml").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", nargs="?", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the whole command")
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
        walls = []
        for _ in range(args.repeat):
            for old in Path(tmp).glob("cli.db*"):
                old.unlink()
            started = time.perf_counter()
            done = subprocess.run(
                [str(BIN / "organiser"), "reserve", str(folder), "--node", "img"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            walls.append(time.perf_counter() - started)
            marked = len(done.stdout.splitlines())
            if done.returncode != 0 or marked != args.labels:
                raise SystemExit(f"organiser reserve failed: {done.stderr[-500:]}")
        walls.sort()
        median = walls[len(walls) // 2]
        print(
            f"organiser reserve DIR --node img, {args.labels} labels, {args.repeat} runs: "
            f"median {median:.2f} s = {args.labels / median:.0f} labels/s "
            f"(best {args.labels / walls[0]:.0f}, worst {args.labels / walls[-1]:.0f}); "
            "whole command: start, parse, crosswalk, validate, check, insert, print"
        )

        files = sorted(folder.iterdir())
        stages: dict[str, float] = {}

        def timed(name: str, work):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            result = work()
            stages[name] = time.perf_counter() - started
            return result

        pipeline = []
        for run in range(args.repeat):
            open_database(f"sqlite:///{tmp}/pipeline{run}.db")
            started = time.perf_counter()
            found = intake.read_all([str(folder)], intake.Options(DoiScheme("10.5072"), node="img"))
            planned = marking.plan_reserve(
                found, DoiScheme("10.5072"), "img", None, versioned=False, force=False
            )
            marking.reserve(planned, "bench", utcnow())
            pipeline.append(time.perf_counter() - started)
        pipeline.sort()
        median = pipeline[len(pipeline) // 2]
        print(
            f"in-process parse + crosswalk + validate + check + insert (all CPUs): median "
            f"{median:.2f} s = {args.labels / median:.0f} labels/s "
            f"(best {args.labels / pipeline[0]:.0f}, worst {args.labels / pipeline[-1]:.0f})"
        )
        print("in-process stages, one CPU:")
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
