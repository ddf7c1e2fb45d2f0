"""schemathesis against the served OpenAPI schema (/api/schema/, drf-spectacular), in process
through the WSGI app: no 5xx, and every response matches its documented schema and content
type, for an anonymous caller and a signed-in one (a shopper; a kiosk on kiosk paths).

Driven through schemathesis' hypothesis strategies rather than its pytest plugin (which does
not support this pytest yet); every operation is fuzzed and all failures reported together."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

pytestmark = pytest.mark.django_db
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = {"positive": 10, "negative": 6}


@pytest.fixture
def api_schema(db):
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    # As Django's test client does: the WSGI handler must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(world):
    from rest_framework.authtoken.models import Token

    from pickup.services import kiosk_create

    _kiosk, key = kiosk_create(name="fuzz", counter_code="C-ZZ1", actor="test")
    token = Token.objects.create(user=world.shopper.user)
    return {"shopper": f"Token {token.key}", "kiosk": f"Kiosk {key}"}


def fuzz(operation, credentials, mode: GenerationMode) -> None:
    kiosk = operation.path.startswith("/api/v1/kiosk/")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,  # the same inputs every run: CI fails on a real finding, not on luck
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case):
        for authorization in (None, credentials["kiosk" if kiosk else "shopper"]):
            headers = {"Accept-Language": "en"}
            if authorization:
                headers["Authorization"] = authorization
            case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_api_answers_every_input_without_5xx_and_as_documented(api_schema, credentials):
    failures, tried = {}, []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        tried.append(f"{operation.method.upper()} {operation.path}")
        # Inputs that fit the schema, and inputs that do not (hostile ones): same checks.
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, credentials, mode)
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing to get wrong (no parameters)
            except (Exception, BaseExceptionGroup) as exc:  # report every operation
                detail = "\n".join(str(e)[:800] for e in getattr(exc, "exceptions", [exc]))
                failures[f"{tried[-1]} ({mode})"] = f"{type(exc).__name__}: {detail}"
    print(f"fuzzed {len(tried)} operations x {EXAMPLES} inputs x 2 callers")
    assert len(tried) >= 20
    assert not failures, "\n\n".join(f"{op}\n{why}" for op, why in failures.items())
