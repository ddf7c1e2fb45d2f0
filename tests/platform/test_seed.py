import pytest
from django.apps import apps
from django.core.management import call_command

PROJECT_APPS = {"auth", "bonded", "customs", "marketplace", "pickup", "dispatch", "demo"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
    }


@pytest.mark.django_db
def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo")
    first = row_counts()
    assert first["auth.User"] >= 4
    call_command("seed_demo")
    assert row_counts() == first
    assert "0 new records" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_gives_every_staff_role_a_login():
    from django.contrib.auth.models import User

    from demo.roles import DEMO_USERS

    call_command("seed_demo")
    for demo in DEMO_USERS:
        user = User.objects.get(username=demo.username)
        assert user.is_staff and user.check_password(demo.password)
        if demo.role:
            assert user.groups.filter(name=demo.role).exists()
    customs = User.objects.get(username="customs")
    assert customs.has_perm("customs.view_orderclearance")
    assert customs.has_perm("customs.change_declaration")
    assert not User.objects.get(username="merchant-au").has_perm("customs.view_orderclearance")


@pytest.mark.django_db
def test_only_the_demo_customs_login_records_inspection_decisions():
    from django.contrib.auth.models import User

    from customs.roles import OFFICER_GROUP, is_customs_officer

    call_command("seed_demo")
    customs = User.objects.get(username="customs")
    assert customs.groups.filter(name=OFFICER_GROUP).exists() and is_customs_officer(customs)
    for name in ("admin", "platform", "warehouse", "merchant-au"):
        assert not is_customs_officer(User.objects.get(username=name)), name


@pytest.mark.django_db
def test_seed_demo_with_a_real_payment_provider_configured_and_no_stand_in_up(settings):
    """`PAYMENT_PROVIDER=wechatpay PAYMENT_STANDIN=1 make run` seeds before the stand-in runs:
    the demo's orders are history paid on the sandbox, never a call to the real provider."""
    from marketplace.models import Order, Payment

    settings.PAYMENT_PROVIDER = settings.PAYMENT_PROVIDER_NAMES["wechatpay"]
    settings.WECHATPAY_BASE_URL = "http://127.0.0.1:9"  # nothing listens: a call would fail
    call_command("seed_demo")
    paid = Payment.objects.filter(order__channel="seed", state="succeeded")
    assert paid.exists() and set(paid.values_list("provider", flat=True)) == {"sandbox"}
    assert Order.objects.filter(channel="seed", state="released").exists()
