"""Two registrations of one resident ID at the same moment: exactly one account."""

import threading

import pytest
from django.db import connection

from marketplace.errors import MarketplaceError, ResidentIdAlreadyRegistered
from marketplace.models import Shopper
from marketplace.services.shoppers import shopper_register
from tests.marketplace.factories import VALID_IDS


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_id_create_one_account():
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def attempt(mobile: str) -> None:
        try:
            barrier.wait(60)
            outcomes.append(
                shopper_register(
                    real_name="赵六",
                    resident_id=VALID_IDS[1],
                    mobile=mobile,
                    password="correct-horse-battery",
                )
            )
        except MarketplaceError as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(m,)) for m in ("13311112222", "13322223333")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)  # password hashing on a loaded machine
    assert Shopper.objects.count() == 1
    assert sum(isinstance(o, Shopper) for o in outcomes) == 1
    assert sum(isinstance(o, ResidentIdAlreadyRegistered) for o in outcomes) == 1
