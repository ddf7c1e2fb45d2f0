"""Supervision dashboard benchmark (not a test): a year of data, every panel's query time.

1. Creates (drops first) its own PostgreSQL database `bondport_dash_bench` and migrates it.
2. Seeds with set-based SQL (generate_series, no Python loops): N orders (default 1,000,000)
   over one Asia/Shanghai year in marketplace orders and one OrderClearance each (goods value,
   paid / declared / released times, 5% rejected with one of five reasons, 8% held for review
   or inspection with a ClearanceEvent), 50 merchants (marketplace + customs registry), 100,000
   shoppers, 60,000 risk hits over ten rules, and a bonded zone of 3 warehouses x 1,000 items
   with account book records and balances (a few differing on purpose).
3. ANALYZE, then builds each panel exactly as the dashboard does (supervision.panels.build)
   for the whole year per day, for one merchant (merchant staff scope) and for one month per
   hour; one warm-up run, then the median of 5, with and without drawing the SVG chart.
   Before timing, builds the daily clearance and journey rollups as the beat tasks do (timed).
   Writes bench/results/dashboard.json.

Run: `make bench-dashboard` or `.venv/bin/python bench/dashboard.py [--orders N] [--keep]`
(`--keep` reuses an already seeded database and only times the panels). Needs PostgreSQL at
BENCH_PG (default postgres://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
RESULTS = BASE / "bench" / "results" / "dashboard.json"
DB = "bondport_dash_bench"
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
YEAR = 2025  # a complete past year: what the yearly view and the report look at
MERCHANTS = 50
SHOPPERS = 100_000
HITS = 60_000
RULES = [
    "frequent_buyer", "shared_phone", "shared_address", "under_priced", "missing_freight",
    "merchant_rejections", "high_risk_inspection", "grade_sampling", "yearly_cap", "three_order",
]  # fmt: skip
REASONS = [
    "CEB621 (customs): declared price below reference",
    "CEB621 (customs): HS code does not match the goods",
    "CEB311 (customs): buyer ID does not match the name",
    "CEB621 (ciq): quarantine certificate missing",
    "CEB411 (customs): acturalPaid differs from amountPaid",
]
HOLD_REASONS = [
    "CEB621 (customs): inspection (500)",
    "CEB621 (customs): manual review (300)",
    "CEB621 (ciq): inspection (500)",
]


def psql_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def configure() -> None:
    os.environ.update(
        {
            "DATABASE_URL": f"{SERVER}/{DB}",
            "CACHE_URL": "locmemcache://",
            "CELERY_BROKER_URL": "memory://",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE))


def fill_missing(cursor, table: str, given: dict[str, str]) -> tuple[str, str]:
    """Column list and SELECT expressions for an INSERT ... SELECT: the given expressions, and
    a neutral value for every other NOT NULL column without a default (so the seed survives
    columns other branches add)."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
        "AND is_nullable = 'NO' AND column_default IS NULL AND is_generated = 'NEVER'",
        [table],
    )
    filler = {
        "boolean": "false",
        "integer": "0",
        "bigint": "0",
        "smallint": "0",
        "numeric": "0",
        "double precision": "0",
        "jsonb": "'{}'::jsonb",
        "timestamp with time zone": "now()",
        "date": "current_date",
        "uuid": "gen_random_uuid()",
    }
    columns = dict(given)
    for name, kind in cursor.fetchall():
        if name not in columns and name != "id":
            columns[name] = filler.get(kind, "''")
    return ", ".join(f'"{c}"' for c in columns), ", ".join(columns.values())


def insert(cursor, table: str, given: dict[str, str], source: str) -> int:
    cols, exprs = fill_missing(cursor, table, given)
    cursor.execute(f'INSERT INTO "{table}" ({cols}) SELECT {exprs} {source}')
    return cursor.rowcount


def seed(orders: int) -> dict[str, float]:
    from django.db import connection

    timings: dict[str, float] = {}
    start_year = f"'{YEAR}-01-01 00:00+08'::timestamptz"
    with connection.cursor() as c:
        t = time.perf_counter()
        c.execute("SET synchronous_commit = off")
        insert(c, "marketplace_merchant", {
            "code": "'41019' || lpad(g::text, 5, '0')", "name": "'Bench merchant ' || g",
            "country": "'AU'", "status": "'approved'", "created_at": "now()",
        }, f"FROM generate_series(1, {MERCHANTS}) g")  # fmt: skip
        insert(c, "customs_enterprise", {
            "code": "'41019' || lpad(g::text, 5, '0')", "role": "'merchant'",
            "name": "'Bench merchant ' || g", "risk_grade": "'B'", "registered_at": "now()",
        }, f"FROM generate_series(1, {MERCHANTS}) g")  # fmt: skip
        insert(c, "auth_user", {
            "username": "'bench' || g", "password": "'!'", "is_superuser": "false",
            "first_name": "''", "last_name": "''", "email": "''", "is_staff": "false",
            "is_active": "true", "date_joined": "now()",
        }, f"FROM generate_series(1, {SHOPPERS}) g")  # fmt: skip
        insert(c, "marketplace_shopper", {
            "user_id": "u.id", "real_name": "'bench'", "resident_id": "'not-a-real-id'",
            "resident_id_hash": "md5(u.username)", "mobile": "'1' || lpad(u.id::text, 10, '0')",
            "created_at": "now()",
        }, "FROM auth_user u WHERE u.username LIKE 'bench%'")  # fmt: skip
        timings["seed_parties_s"] = time.perf_counter() - t

        # One row per order, placed uniformly over the year; the times derive from the row
        # number so orders and clearances agree without a join.
        t = time.perf_counter()
        c.execute("SELECT min(id) FROM marketplace_shopper")
        first_shopper = c.fetchone()[0]
        c.execute("SELECT min(id) FROM marketplace_merchant WHERE code LIKE '41019%'")
        first_merchant = c.fetchone()[0]
        c.execute(
            f"""CREATE TEMP TABLE bench_orders AS
            SELECT g AS n,
                   {start_year} + (g::float / {orders} * 365 * 86400) * interval '1 second'
                       AS placed,
                   (20 + (hashint4(g) & 1023) % 200) AS pay_s,
                   (5 + (hashint4(g + 7) & 1023) % 120) AS release_s,
                   (30 + (hashint4(g + 13) & 1023) % 400) AS handover_s,
                   CASE WHEN g % 20 = 0 THEN 'rejected' WHEN g % 50 = 1 THEN 'held'
                        ELSE 'released' END AS outcome,
                   (g::bigint * 7919) % {MERCHANTS} AS m,
                   (50 + (hashint4(g + 3) & 4095))::numeric(14, 2) AS value
            FROM generate_series(1, {orders}) g"""
        )
        insert(c, "marketplace_order", {
            "number": "'BPB' || lpad(n::text, 10, '0')",
            "shopper_id": f"{first_shopper} + (n % {SHOPPERS})",
            "merchant_id": f"{first_merchant} + m",
            "state": "CASE outcome WHEN 'released' THEN 'delivered' ELSE outcome END",
            "channel": "'web'", "delivery_mode": "'pickup'",
            "counter_code": "CASE WHEN n % 3 = 0 THEN 'C-ZZ2' ELSE 'C-ZZ1' END",
            "goods_value": "value", "freight": "0", "insurance": "0", "tax_total": "0",
            "created_at": "placed",
            "paid_at": "placed + pay_s * interval '1 second'",
            "released_at": "CASE WHEN outcome = 'released' THEN placed + (pay_s + release_s)"
                           " * interval '1 second' END",
            "delivered_at": "CASE WHEN outcome = 'released' THEN placed + (pay_s + release_s"
                            " + handover_s) * interval '1 second' END",
            "language": "'zh-hans'",
        }, "FROM bench_orders")  # fmt: skip
        timings["seed_orders_s"] = time.perf_counter() - t

        t = time.perf_counter()
        reasons = "ARRAY[" + ", ".join(f"'{r}'" for r in REASONS) + "]"
        insert(c, "customs_orderclearance", {
            "order_no": "'BPB' || lpad(n::text, 10, '0')",
            "ebc_code": "'41019' || lpad((m + 1)::text, 5, '0')",
            "state": "outcome",
            "reason": f"CASE WHEN outcome = 'rejected' THEN ({reasons})[1 + n % 5] ELSE '' END",
            "delivery_mode": "'pickup'",
            "destination_code": "CASE WHEN n % 3 = 0 THEN 'C-ZZ2' ELSE 'C-ZZ1' END",
            "ciq_required": "n % 4 = 0", "invt_no": "''", "release_error": "''",
            "goods_value": "value", "created_at": "placed",
            "paid_at": "placed + pay_s * interval '1 second'",
            "declared_at": "CASE WHEN outcome = 'rejected' AND n % 40 = 0 THEN NULL"
                           " ELSE placed + (pay_s + 1) * interval '1 second' END",
            "released_at": "CASE WHEN outcome = 'released' THEN placed + (pay_s + release_s)"
                           " * interval '1 second' END",
            "state_changed_at": "placed + (pay_s + release_s) * interval '1 second'",
        }, "FROM bench_orders")  # fmt: skip
        holds = "ARRAY[" + ", ".join(f"'{r}'" for r in HOLD_REASONS) + "]"
        # 8% of orders held once (review or inspection), whatever their outcome.
        insert(c, "customs_clearanceevent", {
            "clearance_id": "oc.id", "from_state": "'declared'", "to_state": "'held'",
            "reason": f"({holds})[1 + oc.id % 3]", "created_at": "oc.declared_at",
        }, "FROM customs_orderclearance oc WHERE oc.id % 25 IN (1, 2) "
           "AND oc.declared_at IS NOT NULL")  # fmt: skip
        timings["seed_clearances_s"] = time.perf_counter() - t

        t = time.perf_counter()
        rules = "ARRAY[" + ", ".join(f"'{r}'" for r in RULES) + "]"
        insert(c, "customs_riskhit", {
            "rule_code": f"({rules})[1 + (hashint4(g) & 1023) % 10]", "stage": "'ex_post'",
            "subject": "'BPB' || lpad((g * 16)::text, 10, '0')",
            "order_no": "'BPB' || lpad((g * 16)::text, 10, '0')",
            "ebc_code": f"'41019' || lpad((1 + (g::bigint * 126704) % {MERCHANTS})::text, 5, '0')",
            "reason": "'bench hit ' || g", "fingerprint": "md5('hit' || g)",
            "created_at": f"{start_year} + (g::float / {HITS} * 365 * 86400)"
                          " * interval '1 second'",
        }, f"FROM generate_series(1, {HITS}) g")  # fmt: skip

        # Bonded zone: warehouses, storage locations, items, book records and balances.
        insert(c, "bonded_warehouse", {
            "code": "'BW' || g", "name": "'Bench warehouse ' || g",
            "ems_no": "'T4601W00000' || g", "area_code": "'4601'",
        }, "FROM generate_series(1, 3) g")  # fmt: skip
        insert(c, "bonded_location", {
            "code": "w.code || '-A'", "warehouse_id": "w.id", "kind": "'storage'",
            "is_active": "true",
        }, "FROM bonded_warehouse w WHERE w.code LIKE 'BW%'")  # fmt: skip
        insert(c, "bonded_goodsitem", {
            "item_no": "'BI' || lpad(g::text, 6, '0')", "barcode": "'99' || lpad(g::text, 10, '0')",
            "name_zh": "'商品' || g", "name_en": "'item ' || g", "hs_code": "'3306101000'",
            "unit": "'011'", "origin_country": "'AU'",
            "owner_code": f"'41019' || lpad((1 + g % {MERCHANTS})::text, 5, '0')",
            "net_weight_kg": "1", "gross_weight_kg": "1.2", "created_at": "now()",
        }, "FROM generate_series(1, 1000) g")  # fmt: skip
        insert(c, "bonded_accountbookrecord", {
            "warehouse_id": "w.id", "item_id": "i.id",
            "record_no": "row_number() OVER (PARTITION BY w.id ORDER BY i.id)",
            "declared_in": "1000", "written_off": "(i.id % 300)",
        }, "FROM bonded_warehouse w CROSS JOIN bonded_goodsitem i "
           "WHERE w.code LIKE 'BW%' AND i.item_no LIKE 'BI%'")  # fmt: skip
        insert(c, "bonded_balance", {
            "location_id": "l.id", "item_id": "r.item_id",
            # one item in a hundred differs from the book, on purpose
            "on_hand": "r.declared_in - r.written_off + CASE WHEN r.item_id % 100 = 0 "
                       "THEN 1 ELSE 0 END",
            "reserved": "0",
        }, "FROM bonded_accountbookrecord r JOIN bonded_location l "
           "ON l.warehouse_id = r.warehouse_id AND l.code LIKE 'BW%'")  # fmt: skip
        timings["seed_hits_and_zone_s"] = time.perf_counter() - t
        t = time.perf_counter()
        c.execute("ANALYZE")
        timings["analyze_s"] = time.perf_counter() - t
    # The daily rollup as beat builds it (first run: backfill from the first clearance).
    from customs.services.rollup import clearance_days_catch_up

    t = time.perf_counter()
    timings["rollup_rows"] = clearance_days_catch_up()
    timings["rollup_backfill_s"] = time.perf_counter() - t
    from marketplace.services.journey_rollup import journey_days_catch_up

    t = time.perf_counter()
    timings["journey_rollup_rows"] = journey_days_catch_up()
    timings["journey_rollup_backfill_s"] = time.perf_counter() - t
    with connection.cursor() as c:
        c.execute("ANALYZE customs_clearanceday")
        c.execute("ANALYZE marketplace_journeyday")
    return timings


def time_panels(repeat: int = 5) -> dict:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from customs.selectors_stats import Scope
    from supervision import panels
    from supervision.access import Access

    sh = ZoneInfo("Asia/Shanghai")
    year = Scope(dt.datetime(YEAR, 1, 1, tzinfo=sh), dt.datetime(YEAR + 1, 1, 1, tzinfo=sh))
    merchant = Scope(year.start, year.end, "4101900007")
    month = Scope(dt.datetime(YEAR, 6, 1, tzinfo=sh), dt.datetime(YEAR, 7, 1, tzinfo=sh))
    cases = {
        "year, all merchants, per day": (year, "day", Access(None)),
        "year, one merchant (merchant staff), per day": (merchant, "day", Access("4101900007")),
        "one month, all merchants, per hour": (month, "hour", Access(None)),
    }
    from supervision import charts

    def median_ms(key, scope, bucket, access) -> float:
        panels.build(key, scope, bucket, access)  # warm-up
        runs = []
        for _ in range(repeat):
            t = time.perf_counter()
            panels.build(key, scope, bucket, access)
            runs.append((time.perf_counter() - t) * 1000)
        return round(statistics.median(runs), 1)

    queries: dict[str, dict[str, float]] = {}
    with_charts: dict[str, dict[str, float]] = {}
    draw = charts.bar
    for name, (scope, bucket, access) in cases.items():
        queries[name], with_charts[name] = {}, {}
        for key in panels.panels_for(access):
            charts.bar = lambda *a, **k: ""  # the queries and the table only
            try:
                queries[name][key] = median_ms(key, scope, bucket, access)
            finally:
                charts.bar = draw
            with_charts[name][key] = median_ms(key, scope, bucket, access)
    # The quota panel reads bands beat recomputes every 9 minutes (cached 10): time that
    # recomputation too, cold, as the "quota bands recompute" line.
    from marketplace.selectors.quota import quota_usage_bands

    runs = []
    for _ in range(3):
        t = time.perf_counter()
        quota_usage_bands(year=YEAR)
        runs.append((time.perf_counter() - t) * 1000)
    recompute = round(statistics.median(runs), 1)
    return {"queries": queries, "with_chart": with_charts, "quota_recompute_ms": recompute}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse the seeded database")
    args = parser.parse_args()
    configure()
    timings: dict[str, float] = {}
    if not args.keep:
        t = time.perf_counter()
        psql_admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        psql_admin(f'CREATE DATABASE "{DB}"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=BASE, check=True, env=os.environ.copy(),
        )  # fmt: skip
        timings["migrate_s"] = time.perf_counter() - t
    import django

    django.setup()
    if not args.keep:
        timings |= seed(args.orders)
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM customs_orderclearance")
        clearances = c.fetchone()[0]
        c.execute("SELECT count(*) FROM marketplace_order")
        orders = c.fetchone()[0]
        c.execute("SHOW server_version")
        server = c.fetchone()[0]
    measured = time_panels()
    panels_ms = measured["queries"]
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgresql": server,
            "load_average": os.getloadavg(),
        },
        "data": {"orders": orders, "clearances": clearances, "year": YEAR},
        "seed_seconds": {k: round(v, 1) for k, v in timings.items()},
        "panels_query_ms_median_of_5": panels_ms,
        "panels_with_svg_chart_ms_median_of_5": measured["with_chart"],
        "quota_bands_recompute_ms_median_of_3 (beat, not per request)": measured[
            "quota_recompute_ms"
        ],
        "target_ms": 300,
        "over_target": {
            case: [k for k, ms in panel.items() if ms > 300] for case, panel in panels_ms.items()
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
