"""Steps the web flows share."""

import re


def register_and_check_out_at_counter(world):
    """A new shopper (王小明, real name and resident ID) registers, puts two tubes of paste in
    the cart and checks out for pickup at counter C-ZZ1: (their web client, the order number)."""
    from django.test import Client

    web = Client()
    response = web.post("/register/", {
        "real_name": "王小明", "resident_id": "11010519491231002X", "mobile": "13900000077",
        "username": "", "password1": "a-Long-demo-pass-42", "password2": "a-Long-demo-pass-42",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[-2000:]
    web.post("/cart/", {"listing": world.paste.pk, "quantity": "2"})
    response = web.post("/checkout/", {"mode": "pickup", "counter_code": "C-ZZ1", "confirm": "1"})
    assert response.status_code == 302
    return web, re.search(r"/orders/(BP\d+)/", response["Location"]).group(1)
