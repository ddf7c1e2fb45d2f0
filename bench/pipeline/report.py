"""From the load generator's journey records to figures, a table and a chart (no Django)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(min(rank, len(ordered))) - 1]


def spread(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": _r(pct(values, 50)),
        "p90": _r(pct(values, 90)),
        "p99": _r(pct(values, 99)),
        "max": _r(max(values) if values else None),
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def read_records(path: Path) -> tuple[float, list[dict]]:
    started, records = 0.0, []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if "started" in row:
            started = row["started"]
        else:
            records.append(row)
    return started, records


def journeys(started: float, records: list[dict], *, warmup: float, window: float) -> dict:
    """Figures over the steady window [started + warmup, + window].

    Throughput counts journeys handed over inside the window; latencies are those of the
    journeys that started inside it (their whole path, however long it took).
    """
    lo, hi = started + warmup, started + warmup + window
    done = [r for r in records if lo <= r["t_done"] < hi and not r["error"]]
    began = [r for r in records if lo <= r["t_start"] < hi]
    ok = [r for r in began if not r["error"]]
    place = [r["place_s"] for r in began if "place_s" in r]
    paid_released, ordered_released, ordered_delivered = [], [], []
    for r in ok:
        placed, paid = _ts(r.get("placed_at")), _ts(r.get("paid_at"))
        released, delivered = _ts(r.get("released_at")), _ts(r.get("delivered_at"))
        if paid and released:
            paid_released.append(released - paid)
        if placed and released:
            ordered_released.append(released - placed)
        if placed and delivered:
            ordered_delivered.append(delivered - placed)
    errors = Counter(r["error"] for r in began if r["error"])
    return {
        "window_s": window,
        "orders_completed": len(done),
        "orders_per_s": round(len(done) / window, 2) if window else 0,
        "journeys_started": len(began),
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "placement_s": spread(place),
        "paid_to_released_s": spread(paid_released),
        "ordered_to_released_s": spread(ordered_released),
        "ordered_to_delivered_s": spread(ordered_delivered),
    }


def pages(started: float, records: list[dict], *, warmup: float, window: float) -> dict:
    lo, hi = started + warmup, started + warmup + window
    inside = [r for r in records if lo <= r["t_start"] < hi]
    out = {}
    for kind in sorted({r["page"] for r in inside}):
        seconds = [r["seconds"] * 1000 for r in inside if r["page"] == kind and not r["error"]]
        out[kind] = {
            "requests": len(seconds),
            "per_s": round(len(seconds) / window, 1),
            "p50_ms": _r(pct(seconds, 50)),
            "p95_ms": _r(pct(seconds, 95)),
            "p99_ms": _r(pct(seconds, 99)),
        }
    out["errors"] = dict(Counter(r["error"] for r in inside if r["error"]))
    return out


def timeline(started: float, records: list[dict], *, step: float = 5.0) -> list[dict]:
    """Per `step` seconds since the start: journeys handed over per second, and the p50 / p99
    paid -> released and ordered -> delivered of those handed over in that slice."""
    if not records:
        return []
    end = max(r["t_done"] for r in records)
    slices = []
    t = started
    while t < end:
        inside = [r for r in records if t <= r["t_done"] < t + step and not r["error"]]
        released = [
            _ts(r["released_at"]) - _ts(r["paid_at"])
            for r in inside
            if r.get("released_at") and r.get("paid_at")
        ]
        delivered = [
            _ts(r["delivered_at"]) - _ts(r["placed_at"])
            for r in inside
            if r.get("delivered_at") and r.get("placed_at")
        ]
        errors = [r for r in records if t <= r["t_done"] < t + step and r["error"]]
        slices.append(
            {
                "t": round(t - started, 1),
                "orders_per_s": round(len(inside) / step, 2),
                "errors_per_s": round(len(errors) / step, 2),
                "p50_release_s": _r(pct(released, 50)),
                "p99_release_s": _r(pct(released, 99)),
                "p50_delivered_s": _r(pct(delivered, 50)),
                "p99_delivered_s": _r(pct(delivered, 99)),
            }
        )
        t += step
    return slices


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _v in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def chart(runs: dict[str, dict], path: Path) -> None:
    """Throughput and latency over time, one column per run that has a timeline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = {name: run for name, run in runs.items() if run.get("timeline")}
    if not runs:
        return
    fig, axes = plt.subplots(2, len(runs), figsize=(6 * len(runs), 7), squeeze=False)
    for col, (name, run) in enumerate(runs.items()):
        tl = run["timeline"]
        ts = [x["t"] for x in tl]
        top, bottom = axes[0][col], axes[1][col]
        top.plot(ts, [x["orders_per_s"] for x in tl], label="handed over / s")
        top.plot(ts, [x["errors_per_s"] for x in tl], label="errors / s", color="red")
        warm, window = run.get("warmup_s", 0), run.get("window_s", 0)
        top.axvspan(warm, warm + window, color="green", alpha=0.08, label="steady window")
        top.set_title(f"{name}: {run.get('title', '')}", fontsize=10)
        top.set_ylabel("orders / s")
        top.legend(fontsize=8)
        for key, label in (
            ("p50_release_s", "paid -> released p50"),
            ("p99_release_s", "paid -> released p99"),
            ("p50_delivered_s", "ordered -> delivered p50"),
            ("p99_delivered_s", "ordered -> delivered p99"),
        ):
            bottom.plot(ts, [x[key] for x in tl], label=label)
        bottom.set_xlabel("seconds since start")
        bottom.set_ylabel("seconds")
        bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
