"""End-to-end pipeline benchmark (not a test): see bench/README.md, "Pipeline".

Starts the production-like stack (bench/pipeline/stack.py), seeds shoppers, kiosks and stock,
then drives virtual shoppers over HTTP with bench/pipeline/loadgen.py in its own process:
order for counter pickup -> pay (sandbox notify) -> wait for release -> kiosk handover.

  python bench/pipeline/run.py                       # everything `make bench` records
  python bench/pipeline/run.py --only closed --users 40 --warmup 10 --window 30   # a short run
  python bench/pipeline/run.py --only scaling        # 1, 2, 4 worker processes

Writes bench/results/pipeline.json (merged by key: a partial run replaces only its parts)
and bench/results/pipeline.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import contextlib

from bench.pipeline import report
from bench.pipeline.stack import (
    BASE,
    DB_NAME,
    PG,
    REDIS,
    REDIS_DBS,
    VAR,
    WEB_PORT,
    Layout,
    Stack,
    cpu_seconds,
    environment,
)

RESULTS = BASE / "bench" / "results" / "pipeline.json"
CHART = BASE / "bench" / "results" / "pipeline.png"
# HS codes not subject to CIQ inspection: four declarations per order (order, waybill,
# payment, inventory list), all to customs.
QUARANTINE_FREE = {"3306101000", "3304100000", "3401300000", "9619001100", "6403990000"}
BENCH_STOCK = 1_000_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力宁波斌鹏"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}"


# --- database and seeding --------------------------------------------------------------------
def fresh_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def flush_redis() -> None:
    import redis

    for n in REDIS_DBS:  # our own DB numbers only
        redis.Redis.from_url(f"{REDIS}/{n}").flushdb()


def resident_id(n: int) -> str:
    from stdnum.cn import ric

    born = date(1970, 1, 1) + timedelta(days=n // 900)
    body = f"110105{born:%Y%m%d}{n % 900 + 100:03d}"
    return body + ric.calc_check_digit(body + "0")  # it skips the last character


def shopper_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[n // len(SURNAMES) % len(GIVEN)] + GIVEN[n % 7]


def seed(*, shoppers: int, kiosks_per_counter: int) -> dict:
    """Demo zone and catalog, bench stock, shoppers with tokens, kiosks; returns the plan."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from rest_framework.authtoken.models import Token

    from bonded import selectors as bonded_selectors
    from bonded.services import StockLine, stock_receive
    from demo import seed as demo
    from marketplace.models import Shopper
    from marketplace.selectors.catalog import visible_listings
    from marketplace.services.shoppers import shopper_register
    from pickup.services import kiosk_create

    started = time.monotonic()
    for name, step in demo.STEPS:
        if name not in ("staff", "orders"):
            step()
    listings = list(
        visible_listings().filter(item__hs_code__in=QUARANTINE_FREE, price__lt=400).order_by("pk")
    )
    counters = [c.code for c in bonded_selectors.pickup_counters(inside_zone_only=True)]
    storage = bonded_selectors.storage_location_for(
        bonded_selectors.location_by_code(counters[0])
    ).code
    stock_receive(
        reference="BENCH-PIPELINE-STOCK",
        location_code=storage,
        entry_declaration_no="46122026I900000001",
        lines=[StockLine(x.item.item_no, BENCH_STOCK) for x in listings],
        actor="bench",
    )
    plan_shoppers = []
    for n in range(shoppers):
        rid = resident_id(n)
        shopper_register(
            real_name=shopper_name(n), resident_id=rid, mobile=f"139{n:08d}", username=f"bench{n}"
        )
        plan_shoppers.append({"last6": rid[-6:], "mobile": f"139{n:08d}"})
    # One password hash for all (hashing is deliberately slow: seconds per hundred).
    get_user_model().objects.filter(username__startswith="bench").update(
        password=make_password("bench-password")
    )
    users = dict(
        Shopper.objects.filter(user__username__startswith="bench").values_list("mobile", "user_id")
    )
    tokens = Token.objects.bulk_create(
        [Token(user_id=users[s["mobile"]], key=Token.generate_key()) for s in plan_shoppers]
    )
    for s, token in zip(plan_shoppers, tokens, strict=True):
        s["token"] = token.key
    kiosks = {}
    for counter in counters:
        kiosks[counter] = []
        for k in range(kiosks_per_counter):
            key = f"bench-kiosk-{counter.lower()}-{k}"
            kiosk_create(name=f"bench {counter} {k}", counter_code=counter, actor="bench", key=key)
            kiosks[counter].append(key)
    products = list(visible_listings().values_list("pk", flat=True)[:200])
    return {
        "base_url": f"http://127.0.0.1:{WEB_PORT}",
        "shoppers": plan_shoppers,
        "kiosks": kiosks,
        "listings": [{"id": x.pk, "barcode": x.item.barcode} for x in listings],
        "products": products,
        "seed_seconds": round(time.monotonic() - started, 1),
    }


def api_logins(plan: dict, count: int = 5) -> None:
    """A few shoppers sign in through the API (the rest use tokens issued while seeding)."""
    import requests

    for s in plan["shoppers"][:count]:
        r = requests.post(
            f"{plan['base_url']}/api/v1/auth/token/",
            json={"login": s["mobile"], "password": "bench-password"},
            timeout=30,
        )
        r.raise_for_status()
        s["token"] = r.json()["token"]


# --- measurements around the window ----------------------------------------------------------
def pg_backends() -> list[int]:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)
        ).fetchall()
    return [r[0] for r in rows]


def pg_counters() -> dict:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted,"
            " tup_updated, tup_deleted FROM pg_stat_database WHERE datname = %s",
            (DB_NAME,),
        ).fetchone()
    keys = [
        "xact_commit",
        "xact_rollback",
        "tup_returned",
        "tup_fetched",
        "tup_inserted",
        "tup_updated",
        "tup_deleted",
    ]
    return dict(zip(keys, row, strict=True))


def probe_counts(folder: Path) -> tuple[dict[str, int], dict[str, list[float]]]:
    """Role -> SQL statements executed so far (sum over its processes), and unit of work
    ("<role> <request or task>") -> [runs, statements, CPU seconds] so far."""
    out: dict[str, int] = {}
    units: dict[str, list[float]] = {}
    for path in folder.glob("*.json"):
        role = path.name.split(".")[0]
        with contextlib.suppress(ValueError, OSError):
            data = json.loads(path.read_text())
            out[role] = out.get(role, 0) + data["queries"]
            for key, figures in data.get("units", {}).items():
                total = units.setdefault(f"{role} {key}", [0, 0, 0.0])
                for i, value in enumerate(figures):
                    total[i] += value
    return out, units


def redis_pids() -> list[int]:
    import psutil

    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "redis-server"]


class Snapshot:
    def __init__(self, stack: Stack, loadgen_pid: int, probe_dir: Path) -> None:
        self.at = time.time()
        groups = stack.pids()
        groups["postgres (our backends)"] = pg_backends()
        groups["redis (shared server)"] = redis_pids()
        groups["loadgen"] = [loadgen_pid]
        self.cpu = {role: cpu_seconds(pids) for role, pids in groups.items()}
        self.queries, self.units = probe_counts(probe_dir)
        self.pg = pg_counters()


def per_order(first: Snapshot, last: Snapshot, orders: int) -> dict:
    cpu = {}
    for role, end in last.cpu.items():
        start = first.cpu.get(role, {})
        used = sum(t - start.get(pid, 0.0) for pid, t in end.items())
        cpu[role] = {
            "cpu_s": round(used, 2),
            "cpu_ms_per_order": round(1000 * used / orders, 2) if orders else None,
        }
    queries = {
        role: round((n - first.queries.get(role, 0)) / orders, 1) if orders else None
        for role, n in last.queries.items()
    }
    pg = {k: round((last.pg[k] - first.pg[k]) / orders, 1) if orders else None for k in last.pg}
    units = {}
    for key, (runs, statements, cpu_s) in last.units.items():
        before = first.units.get(key, [0, 0, 0.0])
        runs, statements, cpu_s = runs - before[0], statements - before[1], cpu_s - before[2]
        if runs and orders:
            units[key] = {
                "per_order": round(runs / orders, 2),
                "sql_per_run": round(statements / runs, 1),
                "cpu_ms_per_run": round(1000 * cpu_s / runs, 2),
                "cpu_ms_per_order": round(1000 * cpu_s / orders, 2),
            }
    units = dict(sorted(units.items(), key=lambda kv: -kv[1]["cpu_ms_per_order"]))
    return {
        "cpu": cpu,
        "sql_queries_per_order": queries,
        "pg_stat_database_per_order": pg,
        "units": units,
    }


# --- after the run ---------------------------------------------------------------------------
def integrity(*, drain_seconds: float = 90) -> dict:
    """Lost, duplicated and oversold, after giving in-flight orders time to finish."""
    import sqlite3

    from django.db.models import Count, Q, Sum

    from bonded.models import Balance
    from customs.models import Declaration
    from marketplace.models import Order, OrderLine

    final = ["released", "delivered", "rejected", "cancelled", "returned", "expired"]
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline:
        open_paid = Order.objects.filter(paid_at__isnull=False).exclude(state__in=final).count()
        if not open_paid:
            break
        time.sleep(2)
    lost = list(
        Order.objects.filter(paid_at__isnull=False)
        .exclude(state__in=final)
        .values_list("number", "state")[:20]
    )
    lost_count = Order.objects.filter(paid_at__isnull=False).exclude(state__in=final).count()
    ours = (
        Declaration.objects.filter(kind__in=["order", "payment", "waybill", "inventory"])
        .filter(state__in=["accepted", "released", "review", "concluded", "closed"])
        .values("order_no", "kind", "authority")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    sandbox = sqlite3.connect(VAR / "sandbox.sqlite3")
    theirs = sandbox.execute(
        "SELECT COUNT(*) FROM (SELECT authority, type, order_no FROM records"
        " WHERE status >= 120 AND type IN ('CEB311','CEB411','CEB511','CEB621')"
        " GROUP BY authority, type, order_no HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    sandbox_records = sandbox.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    sandbox.close()
    sold = (
        OrderLine.objects.exclude(order__state__in=["cancelled", "expired", "rejected"])
        .values("item_no")
        .annotate(units=Sum("quantity"))
    )
    oversold = sum(max(0, row["units"] - BENCH_STOCK) for row in sold)
    bad_balances = Balance.objects.filter(Q(on_hand__lt=0) | Q(reserved__gt=models_f())).count()
    states = dict(Order.objects.filter(channel="api").values_list("state").annotate(n=Count("id")))
    return {
        "lost": lost_count,
        "lost_examples": lost,
        "duplicated": {"ours": ours, "sandbox": theirs},
        "oversold": oversold + bad_balances,
        "orders_by_state": states,
        "sandbox_records": sandbox_records,
    }


def models_f():
    from django.db.models import F

    return F("on_hand")


def profile_start(stack: Stack, seconds: float) -> list[subprocess.Popen]:
    """py-spy (pip install py-spy) on each process group, only samples holding the GIL (CPU)."""
    spy = Path(sys.executable).parent / "py-spy"
    return [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "--subprocesses",
                "--gil",
                "--nonblocking",
                "-r",
                "40",
                "-d",
                str(int(seconds)),
                "-f",
                "raw",
                "-o",
                str(VAR / f"profile-{role}.txt"),
                "-p",
                str(proc.pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for role, proc in stack.procs.items()
        if role != "beat"
    ]


def profile_summary(path: Path, top: int = 25) -> list[tuple[float, str]]:
    """Share of CPU samples spent inside each of our own functions (inclusive)."""
    counts: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        for frame in set(stack.split(";")):
            if re.search(r"\((bonded|customs|marketplace|pickup|config)/", frame):
                counts[frame] = counts.get(frame, 0) + int(n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return [(round(100 * n / total, 1), frame) for frame, n in ranked]


# --- headline figures --------------------------------------------------------------------------
def _ours(role: str) -> bool:
    """Our own processes: web, Celery workers, beat (not the sandboxes, PostgreSQL, Redis or
    the load generator)."""
    return role == "web" or role == "beat" or role.startswith("worker-")


def headline(f: dict) -> dict:
    """The issue's per-order figures over our processes (web, workers, beat)."""
    cpu = sum(v["cpu_ms_per_order"] or 0 for k, v in f["cpu"].items() if _ours(k))
    sql = sum(v or 0 for k, v in f["sql_queries_per_order"].items() if _ours(k))
    tasks = sum(
        u["per_order"]
        for k, u in f.get("units", {}).items()
        if k.startswith("worker-") and " task " in k
    )
    # The payment sandbox's notification runs as a task in our default worker, but it stands
    # for the provider's servers (WeChat Pay and Alipay post theirs from outside): shown apart.
    provider = sum(
        u["per_order"]
        for k, u in f.get("units", {}).items()
        if k.startswith("worker-") and k.endswith(PROVIDER_TASKS)
    )
    pg = f["cpu"].get("postgres (our backends)", {}).get("cpu_ms_per_order") or 0
    return {
        "cpu_ms_per_order": round(cpu, 1),
        "cpu_ms_per_order_with_postgres": round(cpu + pg, 1),
        "sql_per_order": round(sql, 1),
        "tasks_per_order": round(tasks, 2),
        "tasks_per_order_without_provider": round(tasks - provider, 2),
    }


PROVIDER_TASKS = (" task marketplace.tasks.sandbox_notify",)


REFUSED_MARKS = (":503", ":429")


def overload_figures(f: dict, closed: dict | None) -> dict:
    """Refused (503/429 at any stage, h19b's admission control) apart from real errors."""
    refused = {k: n for k, n in f["errors"].items() if any(m in k for m in REFUSED_MARKS)}
    capped = f["errors"].get("cap_reached", 0)
    other = {k: n for k, n in f["errors"].items() if k not in refused and k != "cap_reached"}
    peak = (closed or {}).get("orders_per_s")
    return {
        "closed_peak_orders_per_s": peak,
        "overload_ratio": round(f["orders_per_s"] / peak, 3) if peak else None,
        "refused": sum(refused.values()),
        "refused_by_kind": refused,
        "not_started_cap_reached": capped,
        "errors_not_refused": other,
    }


# --- the baseline commit, same run ---------------------------------------------------------
OLD_DIR = BASE / "var" / "bench-old"


def old_worktree(commit: str) -> Path:
    """A git worktree of the baseline commit (created once), with today's bench harness copied
    over its own (the harness is not the code under test: bench/pipeline did not change
    between the baseline and this round's start, only its knobs)."""
    path = OLD_DIR / commit
    if not (path / "manage.py").exists():
        OLD_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "worktree", "prune"], cwd=BASE, check=False)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--force", str(path), commit],
            cwd=BASE,
            check=True,
        )
    target = path / "bench" / "pipeline"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(
        BASE / "bench" / "pipeline", target, ignore=shutil.ignore_patterns("__pycache__")
    )
    return path


def old_venv(path: Path) -> Path:
    """The baseline's own venv, from its own pyproject (created once): its dependencies are
    not a subset of today's (it charted with pygal, since replaced by ECharts)."""
    venv = path / ".venv"
    python = venv / "bin" / "python"
    stamp = venv / ".bench-installed"
    if not stamp.exists():
        print(f"[old] installing the baseline's dependencies into {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-e", f"{path}[bench]"],
            check=True,
        )
        stamp.touch()
    return python


def old_run(args, commit: str) -> dict:
    """The closed loop on the baseline commit: its own worktree, venv and database, the same
    PostgreSQL and Redis server, seed, shoppers, ports and layout."""
    path = old_worktree(commit)
    python = old_venv(path)
    out = VAR.parent / f"bench-old-{commit}.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "BENCH_VAR": str(VAR.parent / f"bench-old-run-{commit}"),
        "BENCH_PIPELINE_DB": f"{DB_NAME}_old",
    }
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)
    cmd = [
        str(python),
        str(path / "bench" / "pipeline" / "run.py"),
        "--only",
        "closed",
        "--no-old",
        "--no-save",
        "--json-out",
        str(out),
        *args.passthrough,
    ]
    print(f"[old {commit}] closed loop on the baseline commit ({path})")
    subprocess.run(cmd, cwd=path, env=env, check=True)
    return json.loads(out.read_text())["closed"]


def compare(new: dict, old: dict, commit: str) -> dict:
    ratio = lambda a, b: round(a / b, 2) if a and b else None  # noqa: E731
    return {
        "old_commit": commit,
        "old_commit_orders_per_s": old["orders_per_s"],
        "ratio_vs_old": ratio(new["orders_per_s"], old["orders_per_s"]),
        "old_cpu_ms_per_order": old["cpu_ms_per_order"],
        "cpu_ratio_vs_old": ratio(new["cpu_ms_per_order"], old["cpu_ms_per_order"]),
        "old_sql_per_order": old["sql_per_order"],
        "old_tasks_per_order": old["tasks_per_order"],
        "old_tasks_per_order_without_provider": old.get("tasks_per_order_without_provider"),
        "old_load_average": f"{old['load_average_start']} -> {old['load_average_end']}",
    }


# --- one measured run ------------------------------------------------------------------------
def measure(
    name: str,
    stack: Stack,
    plan_path: Path,
    *,
    mode: str,
    args,
    extra: list[str],
    warmup: float,
    window: float,
    title: str,
) -> dict:
    out = VAR / f"journeys-{name}.jsonl"
    probe_dir = stack.probe_dir
    cmd = [
        sys.executable,
        str(BASE / "bench" / "pipeline" / "loadgen.py"),
        "--plan",
        str(plan_path),
        "--out",
        str(out),
        "--mode",
        mode,
        "--seconds",
        str(warmup + window + args.tail),
        *extra,
    ]
    load_before = load()
    print(f"[{name}] {title}: warm-up {warmup:.0f} s, window {window:.0f} s (load {load_before})")
    gen = subprocess.Popen(cmd, cwd=BASE, env={**os.environ, "PYTHONPATH": str(BASE)})
    while not out.exists() or not out.read_text():
        time.sleep(0.1)
    started = json.loads(out.read_text().splitlines()[0])["started"]
    time.sleep(max(0.0, started + warmup - time.time()))
    first = Snapshot(stack, gen.pid, probe_dir)
    spies = profile_start(stack, window) if args.profile else []
    time.sleep(max(0.0, started + warmup + window - time.time()))
    last = Snapshot(stack, gen.pid, probe_dir)
    for spy in spies:
        spy.wait()
    load_during = load()
    gen.wait()
    started, records = report.read_records(out)
    if mode == "storefront":
        figures = report.pages(started, records, warmup=warmup, window=window)
        requests_n = sum(v["requests"] for k, v in figures.items() if k != "errors")
        figures |= per_order(first, last, requests_n)
        figures["note"] = "per_order figures here are per page view"
    else:
        figures = report.journeys(started, records, warmup=warmup, window=window)
        figures |= per_order(first, last, figures["orders_completed"])
        figures["timeline"] = report.timeline(started, records)
    figures |= {
        "title": title,
        "mode": mode,
        "warmup_s": warmup,
        "load_average_start": load_before,
        "load_average_end": load_during,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadgen_args": extra,
    }
    return figures


def summary(name: str, f: dict) -> str:
    if f["mode"] == "storefront":
        rows = [
            (k, f"{v['per_s']}/s p50 {v['p50_ms']} ms p95 {v['p95_ms']} ms")
            for k, v in f.items()
            if isinstance(v, dict) and "p95_ms" in v
        ]
        rows.append(("errors", json.dumps(f["errors"])))
        rows.append(("SQL per page", json.dumps(f["sql_queries_per_order"])))
        return f"{name}: {f['title']}\n" + report.table(rows)
    s = lambda k: f"p50 {f[k]['p50']} s  p90 {f[k]['p90']} s  p99 {f[k]['p99']} s"  # noqa: E731
    rows = [
        (
            "completed orders/s",
            f"{f['orders_per_s']} ({f['orders_completed']} in {f['window_s']} s)",
        ),
        ("placement", s("placement_s")),
        ("paid -> released", s("paid_to_released_s")),
        ("ordered -> released", s("ordered_to_released_s")),
        ("ordered -> delivered", s("ordered_to_delivered_s")),
        ("errors", json.dumps(f["errors"])),
        ("SQL per order", json.dumps(f["sql_queries_per_order"])),
        ("CPU ms per order", json.dumps({k: v["cpu_ms_per_order"] for k, v in f["cpu"].items()})),
        ("load average", f"{f['load_average_start']} -> {f['load_average_end']}"),
    ]
    top = list(f.get("units", {}).items())[:14]
    rows += [
        (
            f"  {key}"[:60],
            f"{u['per_order']}/order, {u['sql_per_run']} SQL, {u['cpu_ms_per_run']} ms CPU"
            f" = {u['cpu_ms_per_order']} ms/order",
        )
        for key, u in top
    ]
    return f"{name}: {f['title']}\n" + report.table(rows)


def save(parts: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    result.update(parts)
    closed = result.get("closed")
    if closed:  # the headline fields the issue asks for, from the saturation run
        result |= {
            "orders_per_s": closed["orders_per_s"],
            "p50_release_s": closed["paid_to_released_s"]["p50"],
            "p99_release_s": closed["paid_to_released_s"]["p99"],
            "p99_delivered_s": closed["ordered_to_delivered_s"]["p99"],
            "errors": closed["errors"],
            "lost": closed["integrity"]["lost"],
            "duplicated": closed["integrity"]["duplicated"],
            "oversold": closed["integrity"]["oversold"],
            "config": closed["config"],
        }
        for key in (
            "old_commit",
            "old_commit_orders_per_s",
            "ratio_vs_old",
            "cpu_ms_per_order",
            "cpu_ms_per_order_with_postgres",
            "sql_per_order",
            "tasks_per_order",
            "tasks_per_order_without_provider",
        ):
            if key in closed:
                result[key] = closed[key]
    if result.get("overload"):
        result["overload_ratio"] = result["overload"].get("overload_ratio")
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    report.chart({k: result[k] for k in ("closed", "rate") if k in result}, CHART)


def stack_run(layout: Layout, args, runs: list[tuple]) -> dict:
    """Fresh database, seed, start the stack, run each (name, mode, extra, title) in turn."""
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    probe_dir = VAR / "probe"
    probe_dir.mkdir()
    os.environ.update(environment(layout))
    fresh_database()
    flush_redis()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE,
        env=os.environ.copy(),
        check=True,
    )
    import django

    django.setup()
    from django.db import connections

    plan = seed(shoppers=args.shoppers, kiosks_per_counter=args.kiosks)
    connections.close_all()
    print(
        f"seeded in {plan['seed_seconds']} s: {len(plan['shoppers'])} shoppers, "
        f"{len(plan['listings'])} listings with {BENCH_STOCK} units each"
    )
    stack = Stack(layout, probe_dir=probe_dir)
    results = {}
    try:
        stack.start()
        api_logins(plan)
        plan_path = VAR / "plan.json"
        plan_path.write_text(json.dumps(plan))
        for name, mode, extra, title, warmup, window in runs:
            if name == "overload":  # offered at a multiple of the capacity just measured
                peak = results.get("closed", {}).get("orders_per_s") or args.rate
                offered = round(args.overload_factor * peak, 2)
                extra = ["--rate", str(offered), "--cap", "4000", *extra]
                title = f"overload: {offered:g} orders/s offered ({args.overload_factor:g}x {peak})"
                budget = admission_budget(args.overload_budget, peak)
                if budget:
                    title += f", admission budget {budget} placements/s"
            figures = measure(
                name,
                stack,
                plan_path,
                mode=mode,
                args=args,
                extra=extra,
                warmup=warmup,
                window=window,
                title=title,
            )
            figures["config"] = layout.describe() | {"shoppers": len(plan["shoppers"])}
            if mode != "storefront":
                figures |= headline(figures)
            if name == "overload":
                figures |= overload_figures(figures, results.get("closed"))
                figures["admission_budget_per_s"] = budget
                admission_budget(0, 0)  # the runs after it are not budgeted
            if mode != "storefront":
                figures["integrity"] = integrity(drain_seconds=args.drain)
                connections.close_all()
            print(summary(name, figures))
            if mode != "storefront":
                print(
                    f"  integrity: {json.dumps(figures['integrity']['duplicated'])} duplicated,"
                    f" lost {figures['integrity']['lost']},"
                    f" oversold {figures['integrity']['oversold']}"
                )
            results[name] = figures
    finally:
        stack.stop()
    return results


def admission_budget(share: float, peak: float) -> int:
    """Admission control for the overload run: the new-order budget of every web node set at run
    time (config/admission.py) to `share` of the closed loop's peak, whole placements a second
    (0: off). The tree under test may predate the run-time budget: then none, said so."""
    try:
        from config import admission
    except ImportError:
        return 0
    if not hasattr(admission, "budget_set"):
        print("  (this tree has no run-time admission budget: overload runs without one)")
        return 0
    budget = max(1, int(share * peak)) if share > 0 and peak else 0
    admission.budget_set(budget or None)
    time.sleep(1.2)  # every web process reads the budget at most once a second
    return budget


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--only",
        default="closed,rate,storefront",
        help="comma list of: closed, rate, storefront, scaling",
    )
    parser.add_argument("--users", type=int, default=16, help="closed loop virtual shoppers")
    parser.add_argument(
        "--rate", type=float, default=4.0, help="fixed arrival rate, orders/s (below saturation)"
    )
    parser.add_argument("--warmup", type=float, default=20)
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--tail", type=float, default=0, help="load kept on after the window")
    parser.add_argument("--drain", type=float, default=90)
    parser.add_argument("--shoppers", type=int, default=1000)
    parser.add_argument("--kiosks", type=int, default=4, help="kiosks per counter")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--filing", type=int, default=2, help="customs_filing concurrency")
    parser.add_argument("--receipts", type=int, default=3, help="customs_receipts concurrency")
    parser.add_argument("--default", type=int, default=2, help="default queue concurrency")
    parser.add_argument(
        "--combined", type=int, default=0, help="one worker group for all queues, concurrency N"
    )
    parser.add_argument("--sync-commit", default="on")
    parser.add_argument("--prefetch", type=int, default=4, help="CELERY_PREFETCH")
    parser.add_argument("--poll", type=float, default=1.0, help="order state poll, seconds")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few minutes: 200 shoppers, 8 s warm-up, 25 s windows, closed + overload + old",
    )
    parser.add_argument("--old-commit", default="59a9a3f", help="baseline run in the same run")
    parser.add_argument("--no-old", action="store_true", help="skip the baseline commit's run")
    parser.add_argument(
        "--overload-factor", type=float, default=2.0, help="overload: offered x closed peak"
    )
    parser.add_argument("--overload-window", type=float, default=60)
    parser.add_argument(
        "--overload-budget",
        type=float,
        default=0.9,
        help="overload: admission budget as a share of the closed peak (0: no admission control)",
    )
    parser.add_argument("--json-out", help="also write this run's parts to this file")
    parser.add_argument("--profile", action="store_true", help="py-spy each process group")
    args = parser.parse_args()
    if args.quick:  # shorter defaults; what is given explicitly stays
        for key, value in {
            "shoppers": 200,
            "warmup": 8,
            "window": 25,
            "overload_window": 25,
            "drain": 45,
        }.items():
            flag = "--" + key.replace("_", "-")
            if not any(a == flag or a.startswith(flag + "=") for a in sys.argv[1:]):
                setattr(args, key, value)
        if args.only == parser.get_default("only"):
            args.only = "closed,overload"
    elif args.only == parser.get_default("only"):
        args.only = "closed,overload,rate,storefront"
    args.passthrough = [
        *("--users", str(args.users), "--warmup", str(args.warmup)),
        *("--window", str(args.window), "--drain", str(args.drain)),
        *("--shoppers", str(args.shoppers), "--kiosks", str(args.kiosks)),
        *("--web-workers", str(args.web_workers), "--web-threads", str(args.web_threads)),
        *("--filing", str(args.filing), "--receipts", str(args.receipts)),
        *("--default", str(args.default), "--combined", str(args.combined)),
        *("--sync-commit", args.sync_commit, "--prefetch", str(args.prefetch)),
        *("--poll", str(args.poll)),
    ]
    only = set(args.only.split(","))
    layout = Layout(
        web_workers=args.web_workers,
        web_threads=args.web_threads,
        workers={
            "customs_filing": args.filing,
            "customs_receipts": args.receipts,
            "default": args.default,
        }
        if not args.combined
        else {"customs_filing,customs_receipts,default": args.combined},
        synchronous_commit=args.sync_commit,
        prefetch=args.prefetch,
    )
    poll = ["--poll", str(args.poll)]
    runs = []
    if "closed" in only:
        runs.append(
            (
                "closed",
                "closed",
                ["--users", str(args.users), *poll],
                f"closed loop, {args.users} virtual shoppers",
                args.warmup,
                args.window,
            )
        )
    if "overload" in only:
        runs.append(
            (
                "overload",
                "rate",
                poll,  # the rate is set from the closed loop's figure when it runs
                "overload",
                # An open loop is steady only once the first journeys finish: at 2x the peak
                # their p99 is ~12 s (polls back off), so never less than 20 s of warm-up.
                max(args.warmup, 20),
                args.overload_window,
            )
        )
    if "rate" in only:
        runs.append(
            (
                "rate",
                "rate",
                ["--rate", str(args.rate), *poll],
                f"fixed arrival rate {args.rate:g} orders/s",
                args.warmup,
                args.window,
            )
        )
    if "storefront" in only:
        runs.append(
            (
                "storefront",
                "storefront",
                ["--users", "20"],
                "storefront list and product pages, 20 users, no think time",
                5,
                30,
            )
        )
        runs.append(
            (
                "storefront_think",
                "storefront",
                ["--users", "20", "--think", "1.0"],
                "storefront list and product pages, 20 users, 1 s mean think time",
                5,
                30,
            )
        )
    header = {
        "machine": machine(),
        "load_average_at_start": load(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"{header['machine']}, load average {header['load_average_at_start']}")
    parts: dict = {}
    old = None
    if "closed" in only and not args.no_old:  # the baseline first, then this tree, same run
        old = old_run(args, args.old_commit)
        old.pop("timeline", None)
        parts["old_closed"] = old
    if runs:
        parts |= stack_run(layout, args, runs)
    if old and "closed" in parts:
        parts["closed"] |= compare(parts["closed"], old, args.old_commit)
        print(
            f"baseline {args.old_commit}: {old['orders_per_s']} orders/s,"
            f" {old['cpu_ms_per_order']} CPU-ms, {old['sql_per_order']} SQL,"
            f" {old['tasks_per_order']} tasks per order (load {old['load_average_start']}"
            f" -> {old['load_average_end']})\n"
            f"this tree: {parts['closed']['orders_per_s']} orders/s,"
            f" {parts['closed']['cpu_ms_per_order']} CPU-ms,"
            f" {parts['closed']['sql_per_order']} SQL,"
            f" {parts['closed']['tasks_per_order']} tasks per order"
            f" ({parts['closed']['tasks_per_order_without_provider']} without the payment"
            " sandbox's notification)\n"
            f"ratio orders/s new/old: {parts['closed']['ratio_vs_old']},"
            f" CPU per order new/old: {parts['closed']['cpu_ratio_vs_old']}"
        )
    if "overload" in parts:
        o = parts["overload"]
        print(
            f"overload: {o['orders_per_s']} orders/s completed = {o['overload_ratio']} of the"
            f" closed peak, paid -> released p99 {o['paid_to_released_s']['p99']} s, refused"
            f" {o['refused']}, other errors {sum(o['errors_not_refused'].values())}, lost"
            f" {o['integrity']['lost']} (admission budget {o.get('admission_budget_per_s')}/s)"
        )
    if "scaling" in only:
        scaling = []
        for n in (1, 2, 4):
            one = Layout(
                web_workers=args.web_workers,
                web_threads=args.web_threads,
                workers={"customs_filing,customs_receipts,default": n},
                synchronous_commit=args.sync_commit,
            )
            fig = stack_run(
                one,
                args,
                [
                    (
                        f"workers-{n}",
                        "closed",
                        ["--users", str(args.users), *poll],
                        f"{n} worker process(es), all queues",
                        args.warmup,
                        args.window,
                    )
                ],
            )[f"workers-{n}"]
            fig.pop("timeline", None)
            scaling.append(
                {
                    "worker_processes": n,
                    "orders_per_s": fig["orders_per_s"],
                    "p50_release_s": fig["paid_to_released_s"]["p50"],
                    "p99_release_s": fig["paid_to_released_s"]["p99"],
                    "errors": fig["errors"],
                    "lost": fig["integrity"]["lost"],
                    "load_average": fig["load_average_end"],
                    "window_s": fig["window_s"],
                    "measured_at": fig["measured_at"],
                }
            )
        parts["worker_scaling"] = scaling
    parts = {k: v | {"header": header} if isinstance(v, dict) else v for k, v in parts.items()}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(parts, indent=2, ensure_ascii=False) + "\n")
    if not args.no_save:
        save(parts)
        print(f"wrote {RESULTS.relative_to(BASE)} and {CHART.relative_to(BASE)}")


if __name__ == "__main__":
    main()
