from django.urls import path

from bonded.apis import AvailabilityApi, CounterListApi

urlpatterns = [
    path("stock/availability/", AvailabilityApi.as_view(), name="stock-availability"),
    path("stock/counters/", CounterListApi.as_view(), name="stock-counters"),
]
