import pytest
from django.db import OperationalError

from config import health


@pytest.mark.django_db
def test_healthz_reports_database_and_broker_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["down"] == []


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_down(client, settings):
    # A port nothing listens on: the broker is unreachable, as when Redis is stopped.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["down"] == ["broker"]
    assert body["checks"]["database"]["ok"] is True


class _DeadConnection:
    vendor = "postgresql"

    def cursor(self):
        raise OperationalError("connection refused")


@pytest.mark.django_db
def test_healthz_names_the_database_when_it_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "connection", _DeadConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["database"]
    assert body["checks"]["database"] == {
        "ok": False,
        "vendor": "postgresql",
        "error": "OperationalError",
    }
    assert "worker" not in body
