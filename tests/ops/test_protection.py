"""/metrics answers only the token and/or the networks configured; production without either
does not serve it at all."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-the-tests-0123456789abcdef"


def get(client, *, addr="127.0.0.1", token=None):
    headers = {"REMOTE_ADDR": addr}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get("/metrics", **headers)


@override_settings(METRICS_TOKEN=TOKEN, METRICS_ALLOWED_NETWORKS=[])
def test_token_refuses_a_request_without_it_or_with_another(client):
    assert get(client).status_code == 403
    assert get(client, token="wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403
    response = get(client, addr="203.0.113.9", token=TOKEN)  # any network with the token
    assert response.status_code == 200
    assert b"bondport_orders" in response.content


@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=["10.20.0.0/16", "fd00::/8"])
def test_networks_refuse_an_address_outside_them(client):
    assert get(client, addr="127.0.0.1").status_code == 403
    assert get(client, addr="10.21.0.1").status_code == 403
    assert get(client, addr="10.20.3.4").status_code == 200
    assert get(client, addr="fd00::5").status_code == 200


@override_settings(METRICS_TOKEN=TOKEN, METRICS_ALLOWED_NETWORKS=["10.20.0.0/16"])
def test_both_set_both_must_hold(client):
    assert get(client, addr="10.20.3.4").status_code == 403
    assert get(client, addr="192.0.2.1", token=TOKEN).status_code == 403
    assert get(client, addr="10.20.3.4", token=TOKEN).status_code == 200


@override_settings(PRODUCTION=True, METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=[])
def test_production_with_neither_set_does_not_serve_it(client):
    assert get(client).status_code == 404
    assert get(client, token="anything").status_code == 404


@override_settings(PRODUCTION=False, METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=[])
def test_the_demo_with_neither_set_answers_loopback_only(client):
    assert get(client, addr="127.0.0.1").status_code == 200
    assert get(client, addr="192.0.2.1").status_code == 403


def test_production_refuses_a_short_token_and_a_bad_network(tmp_path):
    import subprocess
    import sys

    from tests.support import BASE_DIR, production_env

    def settings_error(**extra) -> str:
        env = production_env(CELERY_FS_BROKER_DIR=str(tmp_path / "broker"), **extra)
        run = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
            cwd=BASE_DIR, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return run.stderr

    assert "METRICS_TOKEN must be at least" in settings_error(METRICS_TOKEN="short")
    assert "is not a CIDR" in settings_error(METRICS_ALLOWED_NETWORKS="10.0.0.0/33")
    assert settings_error(METRICS_TOKEN=TOKEN, METRICS_ALLOWED_NETWORKS="10.0.0.0/8") == ""
