from django.urls import path

from marketplace.views import accounts, storefront

app_name = "marketplace"
urlpatterns = [
    path("", storefront.home, name="home"),
    path("products/", storefront.product_list, name="product_list"),
    path("products/<int:pk>/", storefront.product_detail, name="product_detail"),
    path("products/<int:pk>/image.svg", storefront.product_image, name="product_image"),
    path("register/", accounts.register, name="register"),
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", accounts.LogoutView.as_view(), name="logout"),
    path("account/", accounts.account, name="account"),
]
