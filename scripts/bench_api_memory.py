"""Benchmark: the API server's memory (RSS) before, during and after large or hostile
requests (issue 13). Starts ``organiser serve`` on a fresh SQLite database in a temporary
folder, sends each load, and prints the server's RSS in MB before it, at its highest while it
ran (sampled every 50 ms) and once it is answered and the server is idle again.

    .venv/bin/python scripts/bench_api_memory.py

Loads: 16 parallel 10 MB bodies with a bad token; one 10 MB DataCite JSON with a
10-million-character title; one 10 MB labels payload of 25,000 rows (refused over
``[api] max_records`` when the reserve route passes it to intake); 3 rounds of each to see
whether memory keeps growing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

BASE = "/PDS_APIs/pds_doi_api/0.2"
ORGANISER = Path(sys.executable).with_name("organiser")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(pid: int, load: Callable[[], str]) -> tuple[float, float, float, str]:
    before = rss_mb(pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    outcome = load()
    done.set()
    sampler.join()
    time.sleep(1.0)  # let the server finish what it answered before the next reading
    return before, peak, rss_mb(pid), outcome


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-api-memory-"))
    port = free_port()
    config = folder / "organiser.ini"
    config.write_text(
        "[datacite]\nusername = DEMO.X\npassword = x\nprefix = 10.5072\n\n"
        f"[database]\nurl = sqlite:///{folder / 'o.db'}\n\n"
        f"[api]\nport = {port}\n"
    )
    environ = dict(os.environ, ORGANISER_CONFIG=str(config))
    token = subprocess.run(
        [str(ORGANISER), "token", "add", "alice", "--role", "submitter", "--email", "a@b.org"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    server = subprocess.Popen(
        [str(ORGANISER), "serve"], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}{BASE}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        reserve = {"action": "reserve", "node": "img"}
        json_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        ten_mb = b" " * (10 * 1024 * 1024 - 100)

        def bad_tokens() -> str:
            def one(_: int) -> int:
                try:
                    return requests.post(
                        f"{url}/dois",
                        params=reserve,
                        data=ten_mb,
                        headers={"Authorization": "Bearer junk"},
                        timeout=60,
                    ).status_code
                except requests.ConnectionError:
                    return 0  # the server answered 401 and closed before all was sent

            with ThreadPoolExecutor(16) as pool:
                return str(sorted(set(pool.map(one, range(16)))))

        title = {
            "titles": [{"title": "t" * 10_000_000}],
            "creators": [{"name": "A"}],
            "publisher": "P",
            "publicationYear": "2026",
            "types": {"resourceTypeGeneral": "Dataset"},
        }

        def long_title() -> str:
            answer = requests.post(
                f"{url}/dois", params=reserve, json=title, headers=json_headers, timeout=120
            )
            return f"{answer.status_code} {answer.text[:90]}"

        rows = [
            {
                "title": f"Bundle {n}",
                "publication_date": "2020-03-11",
                "product_type_specific": "PDS4 Bundle",
                "author_last_name": "Johnson",
                "author_first_name": "J. R.",
                "related_resource": f"urn:nasa:pds:bench_{n}::1.0",
            }
            for n in range(25_000)
        ]
        labels = json.dumps({"labels": rows}).encode()

        def many_rows() -> str:
            answer = requests.post(
                f"{url}/dois", params=reserve, data=labels, headers=json_headers, timeout=600
            )
            return f"{answer.status_code} {answer.text[:90]} ({len(labels) / 1e6:.1f} MB)"

        print(f"idle: {rss_mb(server.pid):.1f} MB")
        for name, load in (
            ("16 x 10 MB, bad token", bad_tokens),
            ("10M-character title", long_title),
            ("25,000 label rows", many_rows),
        ):
            for round_ in range(3):
                before, peak, after, outcome = measure(server.pid, load)
                print(
                    f"{name} #{round_ + 1}: before {before:.1f} MB, peak {peak:.1f} MB, "
                    f"after {after:.1f} MB; {outcome}"
                )
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
