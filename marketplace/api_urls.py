from django.urls import path

from marketplace import apis

urlpatterns = [
    path("shoppers/register/", apis.ShopperRegisterApi.as_view(), name="api-shopper-register"),
    path("auth/token/", apis.TokenObtainApi.as_view(), name="api-token-obtain"),
    path("products/", apis.ProductListApi.as_view(), name="api-product-list"),
    path("products/<int:pk>/", apis.ProductDetailApi.as_view(), name="api-product-detail"),
    path("me/", apis.MyProfileApi.as_view(), name="api-me"),
]
