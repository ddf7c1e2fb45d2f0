from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)
from marketplace import apis, apis_orders

urlpatterns = [
    path("shoppers/register/", apis.ShopperRegisterApi.as_view(), name="api-shopper-register"),
    path("auth/token/", apis.TokenObtainApi.as_view(), name="api-token-obtain"),
    path("products/", apis.ProductListApi.as_view(), name="api-product-list"),
    path("products/<id:pk>/", apis.ProductDetailApi.as_view(), name="api-product-detail"),
    path("me/", apis.MyProfileApi.as_view(), name="api-me"),
    path("cart/", apis_orders.CartApi.as_view(), name="api-cart"),
    path("cart/items/", apis_orders.CartAddApi.as_view(), name="api-cart-add"),
    path(
        "cart/items/<id:listing_id>/",
        apis_orders.CartRemoveApi.as_view(),
        name="api-cart-remove",
    ),
    path(
        "checkout/preview/", apis_orders.CheckoutPreviewApi.as_view(), name="api-checkout-preview"
    ),
    path("orders/", apis_orders.OrderListApi.as_view(), name="api-orders-list"),
    path("orders/place/", apis_orders.OrderPlaceApi.as_view(), name="api-orders-place"),
    path("orders/<str:order_no>/", apis_orders.OrderDetailApi.as_view(), name="api-orders-detail"),
    path(
        "orders/<str:order_no>/status/",
        apis_orders.OrderStatusApi.as_view(),
        name="api-orders-status",
    ),
    path(
        "orders/<str:order_no>/payment/",
        apis_orders.PaymentStartApi.as_view(),
        name="api-payment-start",
    ),
    path(
        "orders/<str:order_no>/payment/status/",
        apis_orders.PaymentStatusApi.as_view(),
        name="api-payment-status",
    ),
    path("orders/<str:order_no>/cancel/", apis_orders.OrderCancelApi.as_view(), name="api-cancel"),
    path("orders/<str:order_no>/return/", apis_orders.OrderReturnApi.as_view(), name="api-return"),
]
