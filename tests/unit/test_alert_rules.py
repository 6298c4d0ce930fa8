"""The example alert rules (config/prometheus/organiser-alerts.yml): promtool accepts them and
passes their unit tests (a firing and a quiet case for each alert), and every metric they
name is one the organiser exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from organiser.notify import prometheus
from organiser.notify.prometheus import Figures, LastRun

RULES_DIR = Path(__file__).parents[2] / "config" / "prometheus"
RULES = RULES_DIR / "organiser-alerts.yml"
RULE_TESTS = RULES_DIR / "organiser-alerts.test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)"
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, cwd=RULES_DIR, check=False
    )


def _full() -> Figures:
    """Give figures with every metric present."""
    return Figures(
        version="1.2.3",
        python="3.11.7",
        database_up=True,
        records={"reserved": 2, "to-be-registered": 1},
        accounts={"datacite": 3},
        failing={"datacite": 1},
        oldest_waiting={"to-be-registered": 60.0},
        last_run=LastRun(1.0, 2.0, "ok", {"reserve": {"done": 2, "failed": 0, "skipped": 0}}),
        last_success={"reserve": 2.0},
        runs={("passes", "ok"): 1},
    )


@needs_promtool
def test_promtool_checks_the_rules() -> None:
    checked = _promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout


@needs_promtool
def test_promtool_passes_the_rule_tests() -> None:
    tested = _promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_test_case() -> None:
    alerts = set(re.findall(r"^\s+- alert: (\w+)$", RULES.read_text(), re.MULTILINE))
    tested = set(re.findall(r"^\s+alertname: (\w+)$", RULE_TESTS.read_text(), re.MULTILINE))
    assert alerts == tested
    assert {
        "OrganiserRunStale",
        "OrganiserOutage",
        "OrganiserFailuresGrowing",
        "OrganiserOldestWaiting",
    } <= alerts


def test_the_rules_name_only_metrics_the_organiser_exports() -> None:
    exported = {
        sample.name
        for family in text_string_to_metric_families(prometheus.render(_full()).decode())
        for sample in family.samples
    }
    named = set(re.findall(r"\borganiser_[a-z_]+", _expressions(RULES.read_text())))
    assert named, "no metric found in the rules"
    assert named <= exported, named - exported


def _expressions(text: str) -> str:
    """Give the ``expr:`` lines of a rules file, joined."""
    return "\n".join(re.findall(r"^\s+expr: (.*)$", text, re.MULTILINE))
