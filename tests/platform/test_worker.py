"""A real Celery worker process consumes what this process sends, over the configured broker."""

import pytest
from django.core.cache import cache

from config.tasks import HEARTBEAT_KEY, worker_heartbeat
from tests.support import wait_until


@pytest.mark.worker
def test_real_worker_process_runs_a_task_sent_from_here(celery_worker_process):
    cache.delete(HEARTBEAT_KEY)
    celery_worker_process("default").start()
    worker_heartbeat.delay()
    assert wait_until(lambda: cache.get(HEARTBEAT_KEY), timeout=60)


@pytest.mark.django_db
def test_pages_and_api_docs_are_served(client):
    for url in ["/", "/kiosk/", "/admin/login/", "/api/docs/", "/api/schema/"]:
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.django_db
def test_unknown_api_path_answers_json_not_found(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_filing_push_waiting_in_the_queue_takes_later_nudges_too(
    monkeypatch, django_capture_on_commit_callbacks
):
    """Pushes file everything due: while one waits, more nudges send nothing; once it starts,
    the next nudge sends again; without the cache every nudge is sent."""
    from celery import current_app

    from config import tasks
    from customs.services.declarations import nudge_filing

    push = "customs.tasks.declarations_push"
    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, **kw: sent.append(name))
    with django_capture_on_commit_callbacks(execute=True):
        nudge_filing()
        nudge_filing()
    assert sent == [push]
    with django_capture_on_commit_callbacks(execute=True):
        nudge_filing()
    assert sent == [push]
    tasks.coalesced_task_started(push)  # the worker took it
    with django_capture_on_commit_callbacks(execute=True):
        nudge_filing()
    assert sent == [push, push]

    def cache_down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(tasks.cache, "add", cache_down)
    with django_capture_on_commit_callbacks(execute=True):
        nudge_filing()
        nudge_filing()
    assert sent == [push] * 4
