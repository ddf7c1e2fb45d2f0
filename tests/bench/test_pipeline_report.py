"""The pipeline benchmark's own arithmetic (the benchmark itself never runs in the suite)."""

from datetime import UTC, datetime

from bench.pipeline import report


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _journey(start: float, *, error=None, release=0.5, deliver=1.5) -> dict:
    rec = {"t_start": start, "t_done": start + deliver, "error": error, "place_s": 0.05}
    if not error:
        rec |= {
            "placed_at": _iso(start),
            "paid_at": _iso(start + 0.1),
            "released_at": _iso(start + 0.1 + release),
            "delivered_at": _iso(start + deliver),
        }
    return rec


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert report.pct(values, 50) == 50
    assert report.pct(values, 99) == 99
    assert report.pct(values, 100) == 100
    assert report.pct([3.0], 99) == 3.0
    assert report.pct([], 50) is None


def test_throughput_counts_only_journeys_handed_over_inside_the_window():
    t0 = 1_000.0
    records = [_journey(t0 + s) for s in range(0, 30)]  # done at t0 + s + 1.5
    figures = report.journeys(t0, records, warmup=10, window=10)
    # done in [t0 + 10, t0 + 20): starts 8.5 .. 18.5 -> s = 9 .. 18
    assert figures["orders_completed"] == 10
    assert figures["orders_per_s"] == 1.0


def test_latencies_come_from_server_times_and_errors_are_counted_by_kind():
    t0 = 0.0
    records = [_journey(10 + n, release=0.2 * (n + 1)) for n in range(5)]
    records.append(_journey(12.5, error="place:409:out_of_stock"))
    figures = report.journeys(t0, records, warmup=10, window=10)
    assert figures["paid_to_released_s"]["p50"] == 0.6
    assert figures["paid_to_released_s"]["max"] == 1.0
    assert figures["ordered_to_delivered_s"]["p99"] == 1.5
    assert figures["errors"] == {"place:409:out_of_stock": 1}


def test_timeline_slices_throughput_and_latency():
    records = [_journey(float(s)) for s in range(10)]
    slices = report.timeline(0.0, records, step=5.0)
    assert [x["t"] for x in slices] == [0.0, 5.0, 10.0]
    assert sum(x["orders_per_s"] for x in slices) * 5 == 10
    assert slices[0]["p50_release_s"] == 0.5


def test_pages_report_p95_per_kind():
    records = [
        {"page": "list", "t_start": 1.0 + i / 100, "seconds": 0.010 * (i + 1), "error": None}
        for i in range(100)
    ]
    out = report.pages(0.0, records, warmup=0, window=10)
    assert out["list"]["requests"] == 100
    assert out["list"]["p95_ms"] == 950.0
    assert out["errors"] == {}
