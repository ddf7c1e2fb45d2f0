from django.urls import path

from dispatch import views

app_name = "dispatch"
urlpatterns = [
    path("warehouse/", views.warehouse_home, name="home"),
    path("warehouse/waves/new", views.wave_new, name="wave_new"),
    path("warehouse/waves/<str:number>/", views.wave_page, name="wave"),
    path("warehouse/shipments/<str:order_no>/", views.shipment_page, name="shipment"),
    path("warehouse/returns/", views.returns_page, name="returns"),
    path("warehouse/shipments/<str:order_no>/label/", views.shipment_label, name="label"),
    path("courier/callback/", views.courier_callback, name="courier_callback"),
]
