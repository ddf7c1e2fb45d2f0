from django.urls import path

from customs.apis import OrderClearanceApi, RealtimeQueryApi, ReceiptPushApi

app_name = "customs"
urlpatterns = [
    path("receipts", ReceiptPushApi.as_view(), name="receipts"),
    path("realtime-query", RealtimeQueryApi.as_view(), name="realtime-query"),
    path("orders/<str:order_no>/clearance", OrderClearanceApi.as_view(), name="clearance"),
]
