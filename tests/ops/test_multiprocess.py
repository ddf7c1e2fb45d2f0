"""Under gunicorn each worker process counts its own requests: with PROMETHEUS_MULTIPROC_DIR
one scrape, answered by any process of the node, sums them all."""

import json
import os
import subprocess
import sys

import pytest

from tests.support import BASE_DIR, test_database_url

pytestmark = pytest.mark.django_db(transaction=True)

SERVE = """
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="localhost")
for _ in range({n}):
    assert client.get("/healthz").status_code in (200, 503)
"""
SCRAPE = """
import django, json
django.setup()
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
text = Client(HTTP_HOST="localhost").get("/metrics").content.decode()
counts = {}
for family in text_string_to_metric_families(text):
    for s in family.samples:
        if s.name == "bondport_http_request_duration_seconds_count":
            key = s.labels["view"] + " " + s.labels["status"]
            counts[key] = counts.get(key, 0) + s.value
print(json.dumps({"counts": counts, "orders": "bondport_orders" in text}))
"""


def run(code: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_one_scrape_sums_the_requests_of_every_process(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": test_database_url(),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    run(SERVE.format(n=2), env)  # two "gunicorn workers", one after the other
    run(SERVE.format(n=3), env)
    scraped = json.loads(run(SCRAPE, env).strip().splitlines()[-1])
    healthz = sum(n for key, n in scraped["counts"].items() if key.startswith("healthz "))
    assert healthz == 5
    assert scraped["orders"]  # the business gauges come with it, from the database
