"""Ledger benchmark: stock reservations per second on PostgreSQL, 1 and 4 processes,
on one hot item and spread over 10,000 items. Writes bench/results/ledger.json.

    make bench-ledger                      # defaults below
    BENCH_SECONDS=20 make bench-ledger     # longer runs

Uses its own database (BENCH_DATABASE_URL, default .../bondport_bench), migrated and seeded
here; the real services do every write (stock_receive, stock_reserve), nothing is mocked.
"""

import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bondport_bench")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
DISTINCT_ITEMS = int(os.environ.get("BENCH_ITEMS", "10000"))
HOT_STOCK = int(os.environ.get("BENCH_HOT_STOCK", "4000"))
DISTINCT_STOCK = 100_000


def ensure_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
    )


def setup_stock() -> None:
    from bonded.models import GoodsItem, Location, Warehouse
    from bonded.services import StockLine, stock_receive

    warehouse, _ = Warehouse.objects.get_or_create(
        code="BENCH", defaults={"name": "Bench", "area_code": "0000", "ems_no": "BENCH-EMS"}
    )
    Location.objects.get_or_create(
        code="BENCH-A",
        defaults={"kind": "storage", "warehouse": warehouse, "name_zh": "A", "name_en": "A"},
    )
    have = GoodsItem.objects.filter(item_no__startswith="BX").count()
    if have < DISTINCT_ITEMS:
        GoodsItem.objects.bulk_create(
            [
                GoodsItem(
                    item_no=f"BX{n:07d}",
                    barcode=f"BX{n:07d}",
                    name_zh=f"基准 {n}",
                    name_en=f"Bench {n}",
                    hs_code="2106909090",
                    origin_country="AU",
                    owner_code="BENCH",
                    net_weight_kg=1,
                    gross_weight_kg=1,
                )
                for n in range(have, DISTINCT_ITEMS)
            ],
            batch_size=2000,
        )
        for start in range(0, DISTINCT_ITEMS, 1000):
            stock_receive(
                reference=f"BENCH-RCV-{start}",
                location_code="BENCH-A",
                entry_declaration_no=f"BENCH-ENTRY-{start}",
                lines=[
                    StockLine(f"BX{n:07d}", DISTINCT_STOCK)
                    for n in range(start, min(start + 1000, DISTINCT_ITEMS))
                ],
                actor="bench",
            )


def new_hot_item(tag: str) -> str:
    from bonded.models import GoodsItem
    from bonded.services import StockLine, stock_receive

    item_no = f"HOT-{tag}-{int(time.time())}"
    GoodsItem.objects.create(
        item_no=item_no,
        barcode=item_no,
        name_zh="热门",
        name_en="Hot item",
        hs_code="2106909090",
        origin_country="AU",
        owner_code="BENCH",
        net_weight_kg=1,
        gross_weight_kg=1,
    )
    stock_receive(
        reference=f"RCV-{item_no}",
        location_code="BENCH-A",
        entry_declaration_no=f"E-{item_no}",
        lines=[StockLine(item_no, HOT_STOCK)],
        actor="bench",
    )
    return item_no


def worker(index: int, scenario: str, hot_item: str | None, barrier, results) -> None:
    import django

    django.setup()
    from django.db import connection

    from bonded.errors import InsufficientStock
    from bonded.services import StockLine, stock_reserve

    connection.ensure_connection()
    rng = random.Random(index)
    latencies, ok, refused, errors, last_ok = [], 0, 0, {}, None
    barrier.wait()
    start = time.perf_counter()
    deadline = start + SECONDS
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        item_no = hot_item or f"BX{rng.randrange(DISTINCT_ITEMS):07d}"
        t0 = time.perf_counter()
        try:
            stock_reserve(
                reference=f"{scenario}-{index}-{n}",
                location_code="BENCH-A",
                lines=[StockLine(item_no, 1)],
                actor="bench",
            )
            ok += 1
            last_ok = time.perf_counter()
        except InsufficientStock:
            refused += 1
        except Exception as exc:  # counted and reported, never hidden
            key = exc.__class__.__name__
            errors[key] = errors.get(key, 0) + 1
        latencies.append((time.perf_counter() - t0) * 1000)
    results.put(
        {
            "ok": ok,
            "refused": refused,
            "errors": errors,
            "latencies": latencies,
            "busy_s": (last_ok - start) if last_ok else 0,
            "elapsed_s": time.perf_counter() - start,
        }
    )


def run_scenario(processes: int, hot: bool) -> dict:
    from django.db import connections

    tag = f"{'hot' if hot else 'spread'}{processes}p{int(time.time())}"
    hot_item = new_hot_item(tag) if hot else None
    connections.close_all()  # never share a connection across fork
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(i, tag, hot_item, barrier, results))
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    parts = [results.get(timeout=SECONDS + 120) for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for part in parts for x in part["latencies"])
    ok = sum(part["ok"] for part in parts)
    errors: dict[str, int] = {}
    for part in parts:
        for key, count in part["errors"].items():
            errors[key] = errors.get(key, 0) + count
    # On the hot item stock runs out: rate over the time stock lasted, not the whole window.
    window = max(part["busy_s"] for part in parts) if hot else max(p["elapsed_s"] for p in parts)
    oversold = 0
    if hot:
        from bonded.models import Balance

        row = Balance.objects.get(item__item_no=hot_item)
        oversold = max(0, row.reserved - HOT_STOCK)
        assert row.reserved == ok, f"reserved {row.reserved} != successful reservations {ok}"
    return {
        "scenario": f"{'one hot item' if hot else f'{DISTINCT_ITEMS} items'}, {processes} proc",
        "processes": processes,
        "items": 1 if hot else DISTINCT_ITEMS,
        "reservations": ok,
        "reservations_per_s": round(ok / window, 1) if window else 0.0,
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2) if latencies else None,
        "refused": sum(part["refused"] for part in parts),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "oversold": oversold,
        "seconds": round(window, 2),
        "hot_stock": HOT_STOCK if hot else None,
    }


def machine() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        synchronous_commit = cursor.fetchone()[0]
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": pg,
        "synchronous_commit": synchronous_commit,
        # Other work on the machine skews every figure: recorded so runs can be compared.
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ensure_database()
    import django

    django.setup()
    setup_stock()
    scenarios = [run_scenario(p, hot) for hot in (False, True) for p in (1, 4)]
    report = {"machine": machine(), "seconds_per_scenario": SECONDS, "scenarios": scenarios}
    out = ROOT / "bench" / "results" / "ledger.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'scenario':<28} {'res/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'refused':>8} {'errors':>7}")
    for s in scenarios:
        print(
            f"{s['scenario']:<28} {s['reservations_per_s']:>9} {s['p50_ms']:>8} "
            f"{s['p99_ms']:>8} {s['refused']:>8} {s['errors']:>7}"
        )
    print(f"written to {out.relative_to(ROOT)}")
    if any(s["errors"] or s["oversold"] for s in scenarios):
        sys.exit("errors or oversell: see the table above")


if __name__ == "__main__":
    main()
