"""The end-to-end demo behind ``scripts/demo``: mark records, run the passes against the
DataCite stand-in, show what both sides hold. Everything lives in ./demo/ (recreated)."""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
BIN = Path(sys.executable).parent
TEMPLATE = ROOT / "tests" / "data" / "datacite" / "draft_insight_cameras.json"
PASSWORD = "standin-password"


def organiser(*args: str, env: dict[str, str]) -> int:
    """Run one organiser command, echoing it first; give its exit code."""
    print(f"\n$ organiser {shlex.join(args)}", flush=True)
    return subprocess.run([str(BIN / "organiser"), *args], env=env, check=False).returncode


def write_metadata(folder: Path, count: int) -> None:
    """Write ``count`` DataCite JSON records based on a real PDS record (InSight cameras)."""
    folder.mkdir(parents=True)
    base = json.loads(TEMPLATE.read_text())["data"]["attributes"]
    for key in ("doi", "prefix", "suffix", "state", "xml", "created", "updated"):
        base.pop(key, None)
    for n in range(1, count + 1):
        attributes = copy.deepcopy(base)
        lidvid = f"urn:nasa:pds:insight_cameras_demo_{n}::1.0"
        attributes["identifiers"] = [{"identifier": lidvid, "identifierType": "PDS4 LIDVID"}]
        attributes["titles"] = [{"title": f"InSight Cameras Demo Bundle {n}"}]
        attributes["url"] = f"https://pds.example.org/bundles/insight_cameras_demo_{n}"
        (folder / f"bundle_{n}.json").write_text(json.dumps({"data": {"attributes": attributes}}))


def main() -> int:
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    standin = subprocess.Popen(
        [str(BIN / "organiser-standin"), "--password", PASSWORD], stdout=subprocess.PIPE, text=True
    )
    try:
        url = standin.stdout.readline().strip()
        config = DEMO / "organiser.ini"
        config.write_text(
            f"[datacite]\nurl = {url}\nusername = DEMO.ORGANISER\nprefix = 10.5072\n"
            f"[database]\nurl = sqlite:///{DEMO / 'organiser.db'}\n"
        )
        env = dict(os.environ, ORGANISER_CONFIG=str(config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
        write_metadata(DEMO / "metadata", 5)
        print(f"DataCite stand-in at {url}; configuration {config}; database {DEMO}/organiser.db")

        organiser("reserve", str(DEMO / "metadata"), "--node", "img", env=env)
        label = ROOT / "tests" / "data" / "pds4" / "bundle_insight_cameras_author_list.xml"
        organiser("reserve", str(label), "--node", "img", env=env)  # a real PDS4 label
        organiser("--list", env=env)
        organiser("--reserve-all", env=env)
        organiser("register", "1", "2", "urn:nasa:pds:insight_cameras_demo_3::1.0", env=env)
        changed = json.loads((DEMO / "metadata" / "bundle_4.json").read_text())
        changed["data"]["attributes"]["titles"] = [{"title": "InSight Cameras Demo Bundle 4, v2"}]
        (DEMO / "changed.json").write_text(json.dumps(changed))
        organiser("update", "4", str(DEMO / "changed.json"), env=env)
        organiser("delete", "5", env=env)
        code = organiser("--update-all", "--reserve-all", "--register-all", "--delete-all", env=env)
        organiser("list", env=env)
        with urllib.request.urlopen(f"{url}/_standin/dois") as answer:
            held = json.load(answer)
        print("\nWhat the DataCite stand-in holds now:")
        for doi, state in held.items():
            print(f"  {doi}  {state}")
        summary = "3 findable, 2 drafts (one with new metadata, one from a PDS4 label), 1 deleted"
        print(f"\nDemo finished: {summary}." if code == 0 else f"\nThe run exited {code}.")
        return code
    finally:
        standin.terminate()
        standin.wait()


if __name__ == "__main__":
    sys.exit(main())
