from django.urls import path

from dispatch import apis

urlpatterns = [
    path("waves/", apis.WaveListApi.as_view(), name="dispatch-waves"),
    path("waves/<str:number>/", apis.WaveDetailApi.as_view(), name="dispatch-wave"),
    path("waves/<str:number>/scan", apis.WaveScanApi.as_view(), name="dispatch-scan"),
    path("lines/<id:line_id>/short", apis.LineShortApi.as_view(), name="dispatch-short"),
    path("mismatches/<id:mismatch_id>/fix", apis.MismatchFixApi.as_view(), name="dispatch-fix"),
    path("shipments/<str:order_no>/", apis.ShipmentDetailApi.as_view(), name="dispatch-shipment"),
    path("shipments/<str:order_no>/pack", apis.ShipmentPackApi.as_view(), name="dispatch-pack"),
    path(
        "shipments/<str:order_no>/dispatch",
        apis.ShipmentDispatchApi.as_view(),
        name="dispatch-dispatch",
    ),
]
