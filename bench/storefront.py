"""Storefront list and product pages, old commit against this tree, in ONE run (issue #19).

Starts two gunicorn servers (4 workers x 4 threads each, gthread) on the same PostgreSQL
database and Redis: one from a git worktree of the old commit (`--old`, default 59a9a3f,
created under /tmp if missing), one from this tree. The database is dropped, migrated (with
this tree's migrations) and seeded with the demo zone and catalog. Then, interleaved
(old, new, old, new ...), the load generator (bench/pipeline/loadgen.py, storefront mode:
anonymous visitors alternating list pages - plain, by price, page 2, home - and product pages)
runs each window against each server: `--pairs` pairs with no think time (pages/s at
saturation) and `--pairs` pairs with 1 s mean think time (latency at 20 users). Each window's
ratio new/old is printed with the load average beside it, and the median ratio; results go to
bench/results/storefront.json. The machine is shared: only the ratios within one run mean
anything.

Run: python bench/storefront.py [--old 59a9a3f] [--users 20] [--seconds 15] [--pairs 2]
Env: BENCH_PG (postgres://postgres@127.0.0.1:5432), BENCH_STOREFRONT_DB
(bondport_bench_storefront), BENCH_REDIS (redis://127.0.0.1:6379), BENCH_STOREFRONT_REDIS_DBS
("8,9": broker, cache), BENCH_STOREFRONT_PORT (8851: old; new is +1).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_STOREFRONT_DB", "bondport_bench_storefront")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
BROKER_DB, CACHE_DB = os.environ.get("BENCH_STOREFRONT_REDIS_DBS", "8,9").split(",")
PORT = int(os.environ.get("BENCH_STOREFRONT_PORT", "8851"))
BIN = Path(sys.executable).parent


def env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
        "CACHE_URL": f"{REDIS}/{CACHE_DB}",
        "SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-0123456789",
        "FIELD_ENCRYPTION_KEY": "bench-only-field-encryption-key-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "False",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def old_tree(commit: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"bondport-storefront-old-{commit[:10]}"
    if not (path / "manage.py").exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
            check=True,
            capture_output=True,
        )
    return path


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-qc", sql], check=True, capture_output=True)


SEED = """
import django; django.setup()
from demo import seed
for name, step in seed.STEPS:
    if name not in ("staff", "orders"):
        step()
from marketplace.selectors.catalog import visible_listings
import json; print(json.dumps([x.pk for x in visible_listings().order_by("pk")]))
"""


def prepare() -> list[int]:
    psql(f'DROP DATABASE IF EXISTS "{DB}"')
    psql(f'CREATE DATABASE "{DB}"')
    e = env()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=e, check=True)
    out = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=e, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def old_bin(tree: Path) -> Path:
    """The baseline's own venv (its dependencies are not a subset of today's: pygal), built
    once from its pyproject, as the pipeline bench does for its baseline."""
    sys.path.insert(0, str(ROOT))
    from bench.pipeline.run import old_venv

    return old_venv(tree).parent


def start(tree: Path, port: int, workers: int, threads: int, bindir: Path = BIN):
    proc = subprocess.Popen(
        [
            str(bindir / "gunicorn"),
            "config.wsgi",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--keep-alive",
            "30",
        ],
        cwd=tree,
        env={**env(), "PYTHONPATH": str(tree)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/products/", timeout=5).read()
            return proc
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)  # not left holding the port for the next run
    raise RuntimeError(f"gunicorn in {tree} did not answer on {port}")


def window(port: int, products: list[int], *, users: int, seconds: float, think: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "plan.json"
        plan.write_text(
            json.dumps(
                {
                    "base_url": f"http://127.0.0.1:{port}",
                    "shoppers": [],
                    "kiosks": {},
                    "listings": [],
                    "products": products,
                }
            )
        )
        out = Path(tmp) / "out.jsonl"
        args = ["--plan", str(plan), "--mode", "storefront", "--users", str(users)]
        args += ["--think", str(think)]
        loadgen = [sys.executable, str(ROOT / "bench/pipeline/loadgen.py"), *args]
        # warm-up (caches, connections), not counted
        subprocess.run([*loadgen, "--seconds", "3", "--out", str(out)], check=True)
        load_before = os.getloadavg()
        subprocess.run([*loadgen, "--seconds", str(seconds), "--out", str(out)], check=True)
        load_after = os.getloadavg()
        rows = [json.loads(x) for x in out.read_text().splitlines()[1:]]
    started = min(r["t_start"] for r in rows)
    done = max(r["t_done"] for r in rows)
    result = {
        "pages": len(rows),
        "pages_per_s": round(len(rows) / (done - started), 1),
        "errors": sum(1 for r in rows if r["error"]),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
    }
    for kind in ("list", "product"):
        ms = sorted(r["seconds"] * 1000 for r in rows if r["page"] == kind and not r["error"])
        if ms:
            result[f"{kind}_p50_ms"] = round(ms[len(ms) // 2], 1)
            result[f"{kind}_p95_ms"] = round(ms[int(len(ms) * 0.95)], 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", default="59a9a3f", help="the baseline commit")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    old = old_tree(args.old)
    products = prepare()
    servers = {
        "old": start(old, PORT, args.workers, args.threads, old_bin(old)),
        "new": start(ROOT, PORT + 1, args.workers, args.threads),
    }
    ports = {"old": PORT, "new": PORT + 1}
    results: dict = {"old_commit": args.old, "users": args.users, "seconds": args.seconds}
    try:
        for phase, think in (("saturation", 0.0), ("think_1s", 1.0)):
            pairs = []
            for n in range(args.pairs):
                pair = {}
                for side in ("old", "new"):
                    pair[side] = window(
                        ports[side], products, users=args.users, seconds=args.seconds,
                        think=think,
                    )  # fmt: skip
                pair["ratio_pages_per_s"] = round(
                    pair["new"]["pages_per_s"] / pair["old"]["pages_per_s"], 2
                )
                pairs.append(pair)
                print(f"{phase} pair {n + 1}: " + json.dumps(pair), flush=True)
            results[phase] = {
                "pairs": pairs,
                "median_ratio_pages_per_s": statistics.median(
                    p["ratio_pages_per_s"] for p in pairs
                ),
            }
    finally:
        for proc in servers.values():
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in servers.values():
            proc.wait(timeout=30)
    out = ROOT / "bench/results/storefront.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(f"{'window':<22}{'pages/s':>9}{'list p50/p95 ms':>18}{'product p50/p95':>18}"
          f"{'err':>5}  load average")  # fmt: skip
    for phase in ("saturation", "think_1s"):
        for n, pair in enumerate(results[phase]["pairs"], start=1):
            for side in ("old", "new"):
                r = pair[side]
                print(
                    f"{phase + ' ' + str(n) + ' ' + side:<22}{r['pages_per_s']:>9}"
                    f"{str(r.get('list_p50_ms')) + ' / ' + str(r.get('list_p95_ms')):>18}"
                    f"{str(r.get('product_p50_ms')) + ' / ' + str(r.get('product_p95_ms')):>18}"
                    f"{r['errors']:>5}  {r['load_before']} -> {r['load_after']}"
                )
            print(f"{'':<22}ratio new/old {pair['ratio_pages_per_s']}")
        print(f"{phase}: median ratio new/old {results[phase]['median_ratio_pages_per_s']}")
    print(f"written {out}")


if __name__ == "__main__":
    main()
