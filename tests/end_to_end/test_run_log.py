"""The line a run logs when it finishes counts what it sent and how often DataCite said slow
down, as the stand-in saw it."""

from __future__ import annotations

import json

import pytest

from conftest import Env, write_records


@pytest.mark.slow
def test_run_finished_counts_requests_and_throttling(env: Env) -> None:
    log = env.tmp / "organiser.log"
    env.write_config(
        datacite={"workers": "4", "rate_limit": "0"},
        logging={"file": str(log), "format": "json", "level": "info"},
    )
    write_records(env.tmp / "in", 30)
    assert env.run("reserve", str(env.tmp / "in")).returncode == 0
    env.faults(limit_rate=25, limit_burst=5)
    result = env.run("-s")
    assert result.returncode == 0, result.stderr
    seen = env.server.datacite.seen
    refused = [s for s in seen if s.status == 429]
    assert refused, "the stand-in never throttled: not a throttling test"
    [finished] = [
        line
        for line in map(json.loads, log.read_text().splitlines())
        if line.get("event") == "run finished"
    ]
    assert (finished["requests"], finished["throttled"]) == (len(seen), len(refused))
    assert finished["reserve_done"] == 30 and finished["outcome"] == "ok"
