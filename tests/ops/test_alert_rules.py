"""The alert rules file: loads in promtool (where installed) and, always, in our own parser:
every rule complete, its runbook paragraph present, every metric it reads served by /metrics."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from config.tasks import worker_heartbeat
from ops.sweeps import sweep_tally_record
from tests.ops.support import scrape

BASE = Path(__file__).resolve().parents[2]
RULES = BASE / "deploy" / "prometheus" / "bondport-rules.yml"
RULE_TESTS = BASE / "deploy" / "prometheus" / "bondport-rules.test.yml"
RUNBOOK = BASE / "docs" / "operations.md"
PROMTOOL = "/usr/bin/promtool"

# PromQL words that are not metric names.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "by", "without", "and", "or", "unless", "on",
    "ignoring", "group_left", "group_right", "bool", "offset", "time", "delta", "rate",
    "increase", "deriv", "abs", "absent", "histogram_quantile", "max_over_time",
    "min_over_time", "avg_over_time", "clamp_min", "clamp_max",
}  # fmt: skip
DURATION = re.compile(r"^\d+[smhdwy]$")


def rules() -> list[dict]:
    loaded = yaml.safe_load(RULES.read_text())
    assert set(loaded) == {"groups"}
    found = [rule for group in loaded["groups"] for rule in group["rules"]]
    assert found, "no rules"
    return found


def metric_names(expr: str) -> set[str]:
    """Identifiers an expression reads as series (label matchers, grouping labels, ranges and
    strings removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", text)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text))
    return {w for w in words if w not in PROMQL_WORDS and not DURATION.match(w)}


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return found


def test_every_rule_is_complete_and_points_at_its_runbook_paragraph():
    headings = anchors(RUNBOOK.read_text())
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in rules():
        assert set(rule) >= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"Bondport[A-Za-z]+", rule["alert"])
        assert DURATION.match(rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        notes = rule["annotations"]
        assert notes.get("summary") and notes.get("description"), rule["alert"]
        path, _, anchor = notes["runbook"].partition("#")
        assert path == "docs/operations.md" and anchor in headings, (rule["alert"], anchor)


def test_the_conditions_that_mean_money_or_goods_are_stuck_are_all_covered():
    read = {name for rule in rules() for name in metric_names(rule["expr"])}
    assert {
        "bondport_paid_orders_not_final",
        "bondport_oldest_unfiled_declaration_age_seconds",
        "bondport_oldest_unapplied_receipt_age_seconds",
        "bondport_inspection_queue_length",
        "bondport_celery_queue_depth",
        "bondport_worker_heartbeat_age_seconds",
        "bondport_payment_notifications_oldest_unacknowledged_age_seconds",
        "bondport_dispatch_orders_at_risk",
    } <= read


@pytest.mark.django_db
def test_every_metric_an_alert_reads_is_served_by_metrics(client):
    # Series that exist only once something happened: a sweep ran, a worker beat.
    sweep_tally_record(task="customs.tasks.declarations_sweep", result={"receipts": 1})
    worker_heartbeat()
    served = scrape(client).names()
    for rule in rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= served, (rule["alert"], names - served)


def test_metric_names_are_read_from_an_expression():
    expr = 'sum by (authority, kind) (x_total{a="b"}) > 0 and delta(y[1h]) > 5 or time() - z > 3'
    assert metric_names(expr) == {"x_total", "y", "z"}


def _promtool(*args: str) -> subprocess.CompletedProcess:
    if not shutil.which(PROMTOOL):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {PROMTOOL} is missing (Debian: prometheus)")
        pytest.skip(f"{PROMTOOL} missing (Debian package prometheus)")
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=120, cwd=RULES.parent
    )


def test_promtool_checks_the_rules():
    run = _promtool("check", "rules", RULES.name)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"SUCCESS: {len(rules())} rules found" in run.stdout


def test_promtool_runs_the_rules_unit_tests():
    run = _promtool("test", "rules", RULE_TESTS.name)
    assert run.returncode == 0, run.stdout + run.stderr
