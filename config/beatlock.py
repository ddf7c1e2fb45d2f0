"""Exactly one Celery beat: the beat process holds a lock for as long as it runs, and a second
beat, on any machine, refuses to start with a clear message (exit code 3).

- PostgreSQL (production): a session advisory lock, per database, on a connection of the
  beat's own (application_name "bondport-beat <host>:<pid>", so the refusal names the holder).
  The lock goes with the connection: a beat that is killed frees it at once. A thread checks the
  connection every BEAT_LOCK_CHECK_SECONDS; if it is gone (the database restarted, a network
  cut) the lock may be someone else's by now, so the beat exits and systemd starts it again.
- Otherwise (the SQLite demo, one machine): an flock on BEAT_LOCK_FILE.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

logger = logging.getLogger(__name__)
# pg_try_advisory_lock(int4, int4): "Bond" and the beat's number.
LOCK_CLASS, LOCK_OBJECT = 0x426F6E64, 1
REFUSED_EXIT_CODE = 3
_held: dict = {}


def _refuse(detail: str) -> None:
    message = (
        f"Another celery beat is running ({detail}); this beat refuses to run: "
        "Bondport needs exactly one beat (stop the other, or leave this one off)."
    )
    logger.critical(message)  # beat has set up logging (settings.LOGGING) by now
    raise SystemExit(REFUSED_EXIT_CODE)


def _pg_connect():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=db["NAME"], user=db.get("USER") or None, password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None, port=db.get("PORT") or None, autocommit=True,
        application_name=f"bondport-beat {socket.gethostname()}:{os.getpid()}",
        connect_timeout=10,
    )  # fmt: skip


def _holder(conn) -> str:
    row = conn.execute(
        "SELECT a.application_name, a.client_addr FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.granted",
        (LOCK_CLASS, LOCK_OBJECT),
    ).fetchone()
    if not row:
        return "the lock is held"
    name, addr = row
    return f"{name or 'unknown'}{f' from {addr}' if addr else ''} holds the lock"


def _acquire_pg() -> None:
    conn = _pg_connect()
    (got,) = conn.execute(
        "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, LOCK_OBJECT)
    ).fetchone()
    if not got:
        detail = f"PostgreSQL advisory lock on {conn.info.dbname}: {_holder(conn)}"
        conn.close()
        _refuse(detail)
    _held["pg"] = conn
    threading.Thread(target=_watch_pg, args=(conn,), name="beat-lock", daemon=True).start()
    logger.info("beat lock held (PostgreSQL advisory lock on %s)", conn.info.dbname)


def _watch_pg(conn) -> None:
    from django.conf import settings

    stop = threading.Event()
    while not stop.wait(settings.BEAT_LOCK_CHECK_SECONDS):
        try:
            conn.execute("SELECT 1")
        except Exception:
            logger.critical("beat lost the connection holding its lock: exiting (one beat only)")
            logging.shutdown()
            os._exit(REFUSED_EXIT_CODE)


def _acquire_file() -> None:
    import fcntl

    from django.conf import settings

    name = str(settings.DATABASES["default"]["NAME"])
    path = settings.BEAT_LOCK_FILE or (
        f"{name}.beat-lock" if os.path.isabs(name) else str(settings.VAR_DIR / "celerybeat.lock")
    )
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115  (held open for the life of the process)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        _refuse(f"lock file {path} held by {holder}")
    handle.seek(0)
    handle.truncate()
    handle.write(f"{socket.gethostname()}:{os.getpid()}\n")
    handle.flush()
    _held["file"] = handle
    logger.info("beat lock held (%s)", path)


def hold_or_exit(**kwargs) -> None:
    """beat_init: take the lock or refuse to run."""
    from django.conf import settings

    if not settings.BEAT_LOCK:
        return
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        _acquire_pg()
    else:
        _acquire_file()


def connect_celery_signals() -> None:
    from celery import signals

    signals.beat_init.connect(hold_or_exit, weak=False)
