"""Settings come from the environment: each case imports config.settings in a fresh process."""

import json
import os
import secrets
import subprocess
import sys

import pytest

from tests.support import BASE_DIR, production_env

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
    loaded = settings_from(tmp_path, **production_env(SECRET_KEY="p" * 60))
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


def check_deploy(tmp_path, **env) -> subprocess.CompletedProcess:
    env = production_env(CELERY_FS_BROKER_DIR=str(tmp_path / "broker"), **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = check_deploy(tmp_path, SECRET_KEY=secrets.token_urlsafe(60))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- production secrets: every callback and gateway key, 32 characters at least (#15) -------

SECRETS = [
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "CUSTOMS_GATEWAY_SECRET",
    "PAYMENT_PROVIDER_SECRET",
    "COURIER_CALLBACK_SECRET",
]


@pytest.mark.parametrize("value", ["", "s" * 31], ids=["missing", "short"])
@pytest.mark.parametrize("name", SECRETS)
def test_production_refuses_to_start_with_a_missing_or_short_secret(tmp_path, name, value):
    result = load_settings(tmp_path, **production_env(**{name: value}))
    assert result.returncode != 0, f"production started with {name}={value!r}"
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr
    assert "32 characters" in result.stderr
    assert "s" * 31 not in result.stderr  # the message names the variable, never its value


def test_production_starts_with_secrets_of_exactly_the_minimum_length(tmp_path):
    loaded = settings_from(tmp_path, **production_env(**dict.fromkeys(SECRETS[1:], "k" * 32)))
    assert loaded["secure_cookie"] is True


def test_check_deploy_refuses_production_without_its_callback_and_gateway_secrets(tmp_path):
    """Django's own key set, the gateway and courier keys missing: today's main started."""
    result = check_deploy(tmp_path, CUSTOMS_GATEWAY_SECRET="", COURIER_CALLBACK_SECRET="")
    assert result.returncode != 0
    assert "CUSTOMS_GATEWAY_SECRET must be set" in result.stderr
    assert "no issues" not in result.stdout


def test_check_deploy_refuses_production_with_no_secrets_at_all(tmp_path):
    result = check_deploy(tmp_path, **dict.fromkeys(SECRETS, ""))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY must be set" in result.stderr


# --- sandboxes are development parts (#15) ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "unset_to"),
    [
        ("PAYMENT_PROVIDER", "marketplace.payment_provider.SandboxProvider"),
        ("COURIER_PROVIDER", "dispatch.courier.SandboxCourier"),
    ],
)
def test_production_refuses_to_start_with_a_sandbox_adapter(tmp_path, name, unset_to):
    for env in ({name: unset_to}, {}):  # named, and left at its (sandbox) default
        environment = production_env(**env)
        if not env:
            del environment[name]
        result = load_settings(tmp_path, **environment)
        assert result.returncode != 0, f"production started with {name} the sandbox"
        assert "ImproperlyConfigured" in result.stderr
        assert f"{name} is the sandbox" in result.stderr
        assert "ALLOW_SANDBOXES_IN_PRODUCTION=I_UNDERSTAND_NO_REAL_MONEY" in result.stderr


def test_production_refuses_a_sandbox_provider_under_another_name(tmp_path):
    result = load_settings(
        tmp_path, **production_env(PAYMENT_PROVIDER="tests.adapters.SandboxSubclassProvider")
    )
    assert result.returncode != 0
    assert "is a sandbox payment provider" in result.stderr


@pytest.mark.parametrize("name", ["CUSTOMS_GATEWAY_URL", "CUSTOMS_CIQ_URL"])
def test_production_needs_the_real_customs_gateway_named(tmp_path, name):
    environment = production_env()
    del environment[name]
    result = load_settings(tmp_path, **environment)
    assert result.returncode != 0
    assert f"{name} must be set in production" in result.stderr
    assert "customs sandbox" in result.stderr


URLS_PROBE = (
    "import json, django; django.setup()\n"
    "from django.urls import Resolver404, resolve\n"
    "from django.conf import settings\n"
    "def mounted(path):\n"
    "    try:\n"
    "        return resolve(path).url_name\n"
    "    except Resolver404:\n"
    "        return None\n"
    "print(json.dumps({'pay': mounted('/sandbox/pay/tok3n/'),"
    " 'qr': mounted('/sandbox/pay/tok3n/qr.svg'), 'notify': mounted('/payments/notify/'),"
    " 'beat': sorted(settings.CELERY_BEAT_SCHEDULE),"
    " 'provider': settings.PAYMENT_PROVIDER}))\n"
)


def _probe_urls(tmp_path, **env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", URLS_PROBE],
        cwd=BASE_DIR,
        env={
            **production_env(CELERY_FS_BROKER_DIR=str(tmp_path / "broker"), **env),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_does_not_mount_the_sandbox_pay_pages(tmp_path):
    seen = _probe_urls(tmp_path)
    assert seen["pay"] is None and seen["qr"] is None  # a 404 for every /sandbox/pay/ URL
    assert seen["notify"] == "payment_notify"  # the real provider's notifications still land
    assert "marketplace-sandbox-notify-sweep" not in seen["beat"]


def test_an_explicit_loud_setting_allows_the_sandboxes_and_check_deploy_warns(tmp_path):
    allowed = {
        "ALLOW_SANDBOXES_IN_PRODUCTION": "I_UNDERSTAND_NO_REAL_MONEY",
        "PAYMENT_PROVIDER": "marketplace.payment_provider.SandboxProvider",
        "COURIER_PROVIDER": "dispatch.courier.SandboxCourier",
    }
    seen = _probe_urls(tmp_path, **allowed)
    assert seen["pay"] == "sandbox_pay" and seen["provider"].endswith("SandboxProvider")
    result = check_deploy(tmp_path, **allowed)
    assert result.returncode != 0  # --fail-level WARNING: the warning fails the check
    assert "bondport.W001" in result.stderr + result.stdout
    assert "pay' without money" in result.stderr + result.stdout


def test_a_habitual_true_does_not_allow_the_sandboxes(tmp_path):
    result = load_settings(tmp_path, **production_env(ALLOW_SANDBOXES_IN_PRODUCTION="true"))
    assert result.returncode != 0
    assert "ALLOW_SANDBOXES_IN_PRODUCTION must be empty or exactly" in result.stderr
