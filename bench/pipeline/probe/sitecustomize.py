"""Bench-only probe, on PYTHONPATH of the processes bench/pipeline starts (never in production).

When BENCH_PROBE_DIR is set, every database connection a process opens counts the SQL
statements it executes, and every unit of work (an HTTP request by its path with digits
folded, a Celery task by name) counts how often it ran, its statements and its thread's CPU
time; a daemon thread writes `<role>.<pid>.json` to that folder twice a second, so the bench
can take the counts per process type and per unit over its window.
"""

import os

if os.environ.get("BENCH_PROBE_DIR"):
    import json
    import re
    import threading
    import time

    _state = {"pid": None, "queries": 0, "units": {}}
    _lock = threading.Lock()
    _local = threading.local()
    _DIGITS = re.compile(r"\d+")
    _TOKEN = re.compile(r"/[\w-]{16,}")  # a signed token in a path (the sandbox pay page)

    def _writer(folder: str, role: str) -> None:
        path = os.path.join(folder, f"{role}.{os.getpid()}.json")
        while True:
            tmp = f"{path}.tmp"
            with _lock:
                data = {"queries": _state["queries"], "units": dict(_state["units"])}
            with open(tmp, "w") as out:
                json.dump({**data, "at": time.time()}, out)
            os.replace(tmp, path)
            time.sleep(0.5)

    def _count(execute, sql, params, many, context):
        with _lock:
            _state["queries"] += 1
        unit = getattr(_local, "unit", None)
        if unit is not None:
            unit[1] += 1
        return execute(sql, params, many, context)

    def _unit_start(key: str) -> None:
        _local.unit = [key, 0, time.thread_time()]

    def _unit_end() -> None:
        unit = getattr(_local, "unit", None)
        _local.unit = None
        if unit is None:
            return
        key, queries, cpu_start = unit
        with _lock:
            n, q, cpu = _state["units"].get(key, (0, 0, 0.0))
            _state["units"][key] = (n + 1, q + queries, cpu + time.thread_time() - cpu_start)

    def _on_connection(sender, connection, **kwargs):
        if _state["pid"] != os.getpid():  # first connection in this (possibly forked) process
            _state["pid"], _state["queries"], _state["units"] = os.getpid(), 0, {}
            threading.Thread(
                target=_writer,
                args=(os.environ["BENCH_PROBE_DIR"], os.environ.get("BENCH_ROLE", "proc")),
                daemon=True,
            ).start()
        if _count not in connection.execute_wrappers:  # a reconnect reuses the wrapper
            connection.execute_wrappers.append(_count)

    def _request_started(sender, environ=None, **kwargs):
        path = (environ or {}).get("PATH_INFO", "?")
        path = _DIGITS.sub("N", _TOKEN.sub("/{token}", path))
        _unit_start(f"{(environ or {}).get('REQUEST_METHOD', '?')} {path}")

    def _request_finished(sender, **kwargs):
        _unit_end()

    try:
        from django.core.signals import request_finished, request_started
        from django.db.backends.signals import connection_created

        connection_created.connect(_on_connection, weak=False)
        request_started.connect(_request_started, weak=False)
        request_finished.connect(_request_finished, weak=False)
    except ImportError:  # not a Django process
        pass

    try:
        from celery.signals import task_postrun, task_prerun

        def _task_started(sender=None, **kwargs):
            _unit_start(f"task {sender.name}")

        task_prerun.connect(_task_started, weak=False)
        task_postrun.connect(lambda sender=None, **kwargs: _unit_end(), weak=False)
    except ImportError:
        pass
