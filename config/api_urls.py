"""Every app's API under /api/v1/, collected in one place."""

from django.urls import include, path

from pickup.apis import ShopperPickupCodeApi

urlpatterns = [
    path("", include("bonded.api_urls")),
    path("customs/", include("customs.api_urls")),
    path("", include("marketplace.api_urls")),
    # pickup owns the codes; the shopper reads theirs beside the order (pickup sits above
    # marketplace, so marketplace's URLs cannot name it).
    path(
        "orders/<str:order_no>/pickup-code/",
        ShopperPickupCodeApi.as_view(),
        name="api-orders-pickup-code",
    ),
    path("kiosk/", include("pickup.api_urls")),
    path("dispatch/", include("dispatch.api_urls")),
]
