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
