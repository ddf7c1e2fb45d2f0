from django.conf import settings
from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)
from marketplace.views import accounts, orders, payments, storefront

app_name = "marketplace"
urlpatterns = [
    path("", storefront.home, name="home"),
    path("products/", storefront.product_list, name="product_list"),
    path("products/<id:pk>/", storefront.product_detail, name="product_detail"),
    path("products/<id:pk>/image.svg", storefront.product_image, name="product_image"),
    path("register/", accounts.register, name="register"),
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", accounts.LogoutView.as_view(), name="logout"),
    path("account/", accounts.account, name="account"),
    path("cart/", orders.cart, name="cart"),
    path("checkout/", orders.checkout, name="checkout"),
    path("orders/", orders.my_orders, name="orders"),
    path("orders/<str:order_no>/", orders.order_detail, name="order_detail"),
    path("orders/<str:order_no>/status.json", orders.order_status, name="order_status"),
    path("orders/<str:order_no>/pay/", orders.order_pay, name="order_pay"),
    path("orders/<str:order_no>/cancel/", orders.order_cancel_view, name="order_cancel"),
    path("orders/<str:order_no>/return/", orders.order_return_view, name="order_return"),
    path("payments/notify/", payments.payment_notify, name="payment_notify"),
]
# The sandbox provider's pages: a shopper could "pay" there without money, so a production
# node mounts them only with ALLOW_SANDBOXES_IN_PRODUCTION (config/settings.py).
if settings.SANDBOXES_ENABLED:
    urlpatterns += [
        path("sandbox/pay/<str:token>/", payments.sandbox_pay_page, name="sandbox_pay"),
        path("sandbox/pay/<str:token>/qr.svg", payments.sandbox_pay_qr, name="sandbox_pay_qr"),
    ]
