"""Benchmark: how long the ``organiser`` command takes to start, beside a bare interpreter.

    .venv/bin/python scripts/bench_startup.py [--runs N] [--before DIR] [--hide MODULE]
        [--importtime COMMAND]

Each round starts every command once in a fresh process, in turn (so a burst of load on a
shared machine hits them all alike); after ``--runs`` rounds (default 30) it prints, per
command, the median and the fastest wall time, and how far each is above the bare
interpreter (``python -c pass``) measured in the same run. The commands:

- ``python -c pass``: the interpreter alone (the floor);
- ``organiser -V``, ``organiser --help``: the group, no command module, no configuration;
- ``organiser status``, ``organiser list``: a command that reads a small SQLite database
  (made here, in a temporary folder, by the organiser package being timed);
- ``organiser config generate``: a command without a database.

``--before DIR`` also times each organiser command with the package in DIR first on
``PYTHONPATH`` (e.g. an older tree: ``git archive COMMIT organiser | tar -x -C DIR``), in the
same rounds, with its own database, so that before and after see the same load.

``--hide MODULE`` (repeatable) times every command as if MODULE were not installed (an
``import MODULE`` raises ``ImportError``), e.g. ``--hide rich``: a test-only dependency here
(through schemathesis) that structlog imports when it finds it, absent from an install of
organiser alone.

``--importtime COMMAND`` (e.g. ``--importtime status``) instead runs that command once under
``python -X importtime`` and prints its twenty costliest imports (cumulative µs), to find
what to load later. Every command must exit 0; one that does not stops the benchmark with
its stderr.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ORGANISER = Path(sys.executable).with_name("organiser")
COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ("organiser -V", [str(ORGANISER), "-V"]),
    ("organiser --help", [str(ORGANISER), "--help"]),
    ("organiser config generate", [str(ORGANISER), "config", "generate"]),
    ("organiser status", [str(ORGANISER), "status"]),
    ("organiser list", [str(ORGANISER), "list"]),
]


def environment(folder: Path, package: str | None, hide: list[str]) -> dict[str, str]:
    """Give the environment of the timed commands: a configuration with an empty SQLite
    database (made now) and run-lock folder in ``folder``, nothing inherited from the
    caller's organiser; ``package``: a folder holding another ``organiser`` to time; ``hide``:
    modules that cannot be imported."""
    folder.mkdir()
    path = [str(Path(package).resolve())] if package is not None else []
    for name in hide:  # a package of that name, first on the path, that refuses to load
        (folder / "hidden" / name).mkdir(parents=True)
        (folder / "hidden" / name / "__init__.py").write_text(f"raise ImportError({name!r})\n")
    if hide:
        path.insert(0, str(folder / "hidden"))
    url = f"sqlite:///{folder / 'organiser.db'}"
    config = folder / "organiser.ini"
    config.write_text(f"[database]\nurl = {url}\n\n[organiser]\nstate_dir = {folder / 'state'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORGANISER_")}
    env.pop("JOURNAL_STREAM", None)
    if path:
        env["PYTHONPATH"] = os.pathsep.join(path)
    make = "import sys; from organiser.storage.database import open_database as o; o(sys.argv[1])"
    subprocess.run([sys.executable, "-c", make, url], env=env, cwd=folder, check=True)
    return {**env, "ORGANISER_CONFIG": str(config)}


def once(argv: list[str], env: dict[str, str]) -> float:
    """Give the wall time of one run of ``argv``, seconds. Raises ``SystemExit`` with its
    stderr if it does not exit 0."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(argv)} exited {done.returncode}:\n{done.stderr}")
    return elapsed


def bench(runs: int, envs: dict[str, dict[str, str]]) -> dict[str, list[float]]:
    """Give each command's wall times over ``runs`` interleaved rounds (after one warm-up
    round), once per environment in ``envs`` (by label; the
    bare interpreter only in the first)."""
    variants = [
        (name if argv[0] == sys.executable else f"{name}{label}", argv, env)
        for name, argv in COMMANDS
        for index, (label, env) in enumerate(envs.items())
        if index == 0 or argv[0] != sys.executable
    ]
    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for _ in range(runs + 1):
        for name, argv, env in variants:
            times[name].append(once(argv, env))
    return {name: values[1:] for name, values in times.items()}


def importtime(command: str, env: dict[str, str], top: int = 20) -> None:
    """Print the ``top`` costliest imports (cumulative) of ``organiser COMMAND``."""
    argv = [sys.executable, "-X", "importtime", "-m", "organiser", *shlex.split(command)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative), int(own), name.rstrip()))
    total = sum(own for _, own, _ in rows)
    print(f"organiser {command}: {len(rows)} modules imported, {total / 1000:.0f} ms in all")
    print(f"{'cumulative':>12}{'self':>10}  module")
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        print(f"{cumulative / 1000:>10.1f}ms{own / 1000:>8.1f}ms  {name}")


def main() -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="rounds (default 30)")
    parser.add_argument("--importtime", metavar="COMMAND", help="e.g. '--help' or 'status'")
    parser.add_argument("--before", metavar="DIR", help="also time the package in DIR")
    parser.add_argument("--hide", metavar="MODULE", action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        envs = {"": environment(Path(tmp) / "now", None, args.hide)}
        if args.before is not None:
            before = environment(Path(tmp) / "before", args.before, args.hide)
            envs = {" (now)": envs[""], " (before)": before}
        if args.importtime is not None:
            importtime(args.importtime, envs[next(iter(envs))])
            return
        times = bench(args.runs, envs)
    bare = statistics.median(next(iter(times.values())))
    hidden = f"; hidden: {', '.join(args.hide)}" if args.hide else ""
    print(
        f"{args.runs} runs each, interleaved; {os.cpu_count()} cores; "
        f"Python {sys.version.split()[0]}{hidden}"
    )
    print(f"{'command':<38}{'median':>9}{'min':>9}{'median - bare':>15}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<38}{median * 1000:>7.0f}ms{min(values) * 1000:>7.0f}ms"
            f"{(median - bare) * 1000:>13.0f}ms"
        )


if __name__ == "__main__":
    main()
