from django.urls import path

from pickup import apis

urlpatterns = [
    path("me", apis.KioskMeApi.as_view(), name="kiosk-me"),
    path("pickups/lookup", apis.PickupLookupApi.as_view(), name="kiosk-lookup"),
    path("pickups/identity", apis.PickupIdentityApi.as_view(), name="kiosk-identity"),
    path("pickups/handover", apis.PickupHandoverApi.as_view(), name="kiosk-handover"),
    path("walkin/shoppers", apis.WalkinRegisterApi.as_view(), name="kiosk-register"),
    path("walkin/cart", apis.WalkinCartApi.as_view(), name="kiosk-cart"),
    path("walkin/orders", apis.WalkinOrderApi.as_view(), name="kiosk-order"),
    path("orders/<str:order_no>", apis.OrderStatusApi.as_view(), name="kiosk-order-status"),
]
