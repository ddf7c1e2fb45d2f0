"""Settings come from the environment: each case imports config.settings in a fresh process."""

import json
import os
import secrets
import subprocess
import sys

import pytest

from tests.support import BASE_DIR

PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "db = settings.DATABASES['default'];"
    "print(json.dumps({'debug': settings.DEBUG, 'engine': db['ENGINE'], 'name': db['NAME'],"
    " 'host': db.get('HOST'), 'options': db.get('OPTIONS', {}),"
    " 'broker': settings.CELERY_BROKER_URL,"
    " 'hosts': settings.ALLOWED_HOSTS, 'secure_cookie': settings.SESSION_COOKIE_SECURE,"
    " 'hsts': settings.SECURE_HSTS_SECONDS, 'secret': settings.SECRET_KEY}))"
)


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_FS_BROKER_DIR": str(tmp_path / "broker"),
        }
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=BASE_DIR, env=clean, capture_output=True, text=True
    )


def settings_from(tmp_path, **env) -> dict:
    result = load_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_are_the_embedded_demo(tmp_path):
    loaded = settings_from(tmp_path, DEBUG="", SECRET_KEY="s" * 50)
    assert loaded["debug"] is False
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in loaded["options"]["init_command"]
    assert loaded["broker"] == "filesystem://"


def test_database_url_selects_postgresql(tmp_path):
    loaded = settings_from(
        tmp_path, DATABASE_URL="postgres://bp:secret@db.internal:5433/bondport", SECRET_KEY="s" * 50
    )
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert (loaded["name"], loaded["host"]) == ("bondport", "db.internal")


def test_debug_hosts_and_broker_are_read_from_env(tmp_path):
    loaded = settings_from(
        tmp_path,
        DEBUG="true",
        ALLOWED_HOSTS="shop.example.com,kiosk.example.com",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
        SECRET_KEY="s" * 50,
    )
    assert loaded["debug"] is True
    assert loaded["hosts"] == ["shop.example.com", "kiosk.example.com"]
    assert loaded["broker"] == "redis://127.0.0.1:6379/3"


def test_production_refuses_to_start_without_secrets(tmp_path):
    result = load_settings(tmp_path, BONDPORT_ENV="production", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_turns_on_secure_cookies_and_hsts(tmp_path):
    loaded = settings_from(
        tmp_path,
        BONDPORT_ENV="production",
        SECRET_KEY="p" * 60,
        FIELD_ENCRYPTION_KEY="f" * 44,
    )
    assert loaded["secure_cookie"] is True
    assert loaded["hsts"] >= 31536000


def test_unknown_environment_name_is_refused(tmp_path):
    result = load_settings(tmp_path, BONDPORT_ENV="staging")
    assert result.returncode != 0
    assert "BONDPORT_ENV must be" in result.stderr


@pytest.mark.parametrize("name", ["SECRET_KEY"])
def test_secret_comes_from_env_when_given(tmp_path, name):
    loaded = settings_from(tmp_path, **{name: "given-" + "x" * 50})
    assert loaded["secret"] == "given-" + "x" * 50


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "DEBUG"))}
    env.update(
        BONDPORT_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(60),
        FIELD_ENCRYPTION_KEY="f" * 44,
        ALLOWED_HOSTS="shop.example.com",
        CELERY_FS_BROKER_DIR=str(tmp_path / "broker"),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
