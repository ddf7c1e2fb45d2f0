"""Bench-only probe, on PYTHONPATH of the processes bench/pipeline starts (never in production).

When BENCH_PROBE_DIR is set, every database connection a process opens counts the SQL
statements it executes; a daemon thread writes `<role>.<pid>.json` ({"queries": n}) to that
folder twice a second, so the bench can take the count per process type over its window.
"""

import os

if os.environ.get("BENCH_PROBE_DIR"):
    import json
    import threading
    import time

    _state = {"pid": None, "queries": 0}
    _lock = threading.Lock()

    def _writer(folder: str, role: str) -> None:
        path = os.path.join(folder, f"{role}.{os.getpid()}.json")
        while True:
            tmp = f"{path}.tmp"
            with open(tmp, "w") as out:
                json.dump({"queries": _state["queries"], "at": time.time()}, out)
            os.replace(tmp, path)
            time.sleep(0.5)

    def _count(execute, sql, params, many, context):
        with _lock:
            _state["queries"] += 1
        return execute(sql, params, many, context)

    def _on_connection(sender, connection, **kwargs):
        if _state["pid"] != os.getpid():  # first connection in this (possibly forked) process
            _state["pid"], _state["queries"] = os.getpid(), 0
            threading.Thread(
                target=_writer,
                args=(os.environ["BENCH_PROBE_DIR"], os.environ.get("BENCH_ROLE", "proc")),
                daemon=True,
            ).start()
        if _count not in connection.execute_wrappers:  # a reconnect reuses the wrapper
            connection.execute_wrappers.append(_count)

    try:
        from django.db.backends.signals import connection_created

        connection_created.connect(_on_connection, weak=False)
    except ImportError:  # not a Django process
        pass
