"""Marketplace API (/api/v1/): one view per action, Input/Output serializers, DomainError out."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.errors import DomainError, NotFound
from marketplace.forms import SORT_CHOICES
from marketplace.selectors import catalog
from marketplace.selectors.quota import annual_quota
from marketplace.selectors.shoppers import shopper_for_user
from marketplace.services.shoppers import shopper_register


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    http_status = 400


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    extra = serializers.DictField()


class QuotaOutput(serializers.Serializer):
    year = serializers.IntegerField()
    limit = serializers.DecimalField(max_digits=12, decimal_places=2)
    used = serializers.DecimalField(max_digits=12, decimal_places=2)
    remaining = serializers.DecimalField(max_digits=12, decimal_places=2)


class ProfileOutput(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    real_name = serializers.CharField()
    masked_id = serializers.CharField(help_text="Only the last 4 characters are ever shown.")
    mobile = serializers.CharField()
    quota = QuotaOutput(read_only=True)


def _profile(shopper) -> dict:
    data = dict(ProfileOutput(shopper).data)
    data["quota"] = QuotaOutput(annual_quota(shopper=shopper)).data
    return data


@method_decorator(sensitive_post_parameters("resident_id", "password"), name="dispatch")
class ShopperRegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ShopperRegisterInput"

        real_name = serializers.CharField(max_length=50)
        resident_id = serializers.CharField(max_length=18, min_length=18)
        mobile = serializers.CharField(max_length=20)
        password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
        username = serializers.CharField(max_length=150, required=False, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ShopperRegisterOutput"

        token = serializers.CharField()
        profile = ProfileOutput()

    @extend_schema(
        operation_id="shopper_register",
        request=InputSerializer,
        responses={201: OutputSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shopper = shopper_register(
            real_name=data.validated_data["real_name"],
            resident_id=data.validated_data["resident_id"],
            mobile=data.validated_data["mobile"],
            password=data.validated_data["password"],
            username=data.validated_data.get("username") or None,
        )
        token, _created = Token.objects.get_or_create(user=shopper.user)
        return Response({"token": token.key, "profile": _profile(shopper)}, status=201)


class TokenObtainApi(APIView):
    """Sign in with a mobile number (or username) and password; send the token as
    `Authorization: Token <key>`."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenObtainInput"

        login = serializers.CharField(max_length=150, help_text="Mobile number or username")
        password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenObtainOutput"

        token = serializers.CharField()

    @extend_schema(
        operation_id="auth_token_obtain",
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ErrorSerializer},
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request,
            username=data.validated_data["login"],
            password=data.validated_data["password"],
        )
        if user is None:
            raise InvalidCredentials(
                _(
                    "That mobile number or username and password do not match. "
                    "Check both and try again."
                )
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class ProductPagination(PageNumberPagination):
    page_size_query_param = None

    def get_page_size(self, request):
        return settings.CATALOG_PAGE_SIZE


class TaxOutput(serializers.Serializer):
    goods_value = serializers.DecimalField(max_digits=12, decimal_places=2)
    duty = serializers.DecimalField(max_digits=12, decimal_places=2)
    consumption_tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    vat = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    over_limit = serializers.BooleanField()


class ProductOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    name_zh = serializers.CharField(source="item.name_zh")
    name_en = serializers.CharField(source="item.name_en")
    barcode = serializers.CharField(source="item.barcode")
    item_no = serializers.CharField(source="item.item_no")
    origin_country = serializers.CharField(source="item.origin_country")
    brand = serializers.CharField(source="brand.name")
    category = serializers.CharField(source="category.slug")
    merchant = serializers.CharField(source="merchant.name")
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    available = serializers.SerializerMethodField()
    tax_for_one = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField()

    def get_available(self, listing) -> int:
        return self.context["stock"].get(listing.pk, 0)

    @extend_schema_field(TaxOutput)
    def get_tax_for_one(self, listing) -> dict:
        return TaxOutput(catalog.listing_tax_preview(listing=listing, quantity=1)).data

    def get_image_url(self, listing) -> str:
        return reverse("marketplace:product_image", args=[listing.pk])


class DeliveryOptionOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["pickup", "delivery"])
    title = serializers.CharField()
    lead_time = serializers.CharField()
    location_code = serializers.CharField()
    address = serializers.CharField()
    opening_hours = serializers.CharField()
    available = serializers.IntegerField()


class ProductDetailOutput(ProductOutput):
    description = serializers.CharField()
    tax_category = serializers.CharField(source="tax_category.name")
    delivery_options = serializers.SerializerMethodField()

    @extend_schema_field(DeliveryOptionOutput(many=True))
    def get_delivery_options(self, listing) -> list:
        return DeliveryOptionOutput(catalog.delivery_options(listing=listing), many=True).data


class ProductPageOutput(serializers.Serializer):
    """One page of products as PageNumberPagination answers it (schemathesis found the schema
    promising a bare list)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProductOutput(many=True)


class ProductListApi(APIView):
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProductFilter"

        q = serializers.CharField(required=False, allow_blank=True, max_length=100)
        category = serializers.SlugField(required=False, allow_blank=True)
        brand = serializers.SlugField(required=False, allow_blank=True)
        origin = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_blank=True)
        in_stock = serializers.BooleanField(required=False, default=False)
        sort = serializers.ChoiceField(
            choices=[key for key, _label in SORT_CHOICES], required=False, default="newest"
        )

    @extend_schema(
        operation_id="products_list",
        parameters=[
            FilterSerializer,
            OpenApiParameter("page", int, description="Page number, from 1"),
        ],
        responses={200: ProductPageOutput, 400: ErrorSerializer, 404: ErrorSerializer},
        auth=[],
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = ProductPagination()
        page = paginator.paginate_queryset(
            catalog.listing_search(**filters.validated_data), request, view=self
        )
        out = ProductOutput(page, many=True, context={"stock": catalog.availability_for(page)})
        return paginator.get_paginated_response(out.data)


class ProductDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="products_detail",
        responses={200: ProductDetailOutput, 404: ErrorSerializer},
        auth=[],
    )
    def get(self, request, pk: int):
        listing = catalog.listing_visible(listing_id=pk)
        out = ProductDetailOutput(listing, context={"stock": catalog.availability_for([listing])})
        return Response(out.data)


class MyProfileApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_profile",
        responses={200: ProfileOutput, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        shopper = shopper_for_user(request.user)
        if shopper is None:
            raise NotFound(_("This login has no shopper profile. Register as a shopper first."))
        return Response(_profile(shopper))
