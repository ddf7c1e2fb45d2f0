"""Cart, checkout, orders and payment API (/api/v1/): one view per action, Input/Output
serializers, services do the work and DomainErrors come out as {"code", "message", "extra"}."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound
from marketplace import poll
from marketplace.apis import ErrorSerializer
from marketplace.errors import OrderNotFound
from marketplace.models import Order
from marketplace.selectors import orders as order_selectors
from marketplace.selectors.shoppers import shopper_for_user
from marketplace.services import cart as cart_services
from marketplace.services.checkout import (
    CartLine,
    HomeDelivery,
    PickupDelivery,
    checkout_preview,
    order_place,
)
from marketplace.services.idempotency import (
    order_place_once,
    placement_replayed,
    request_hash,
)
from marketplace.services.orders import order_cancel
from marketplace.services.payments import payment_start
from marketplace.services.returns import order_return_request

MONEY = {"max_digits": 12, "decimal_places": 2}


def _shopper(request):
    shopper = shopper_for_user(request.user)
    if shopper is None:
        raise NotFound(_("This login has no shopper profile. Register as a shopper first."))
    return shopper


def _order(request, order_no: str, *, details: bool = True):
    """The user's own order, read once (the owner's shopper joined in); `details`: with its
    merchant and lines, for the order outputs."""
    order = order_selectors.order_for_user(user=request.user, order_no=order_no, details=details)
    if order is None:
        _shopper(request)  # a login without a shopper profile is told so
        raise OrderNotFound()
    return order


class CartLineSerializer(serializers.Serializer):
    listing_id = serializers.IntegerField()
    quantity = serializers.IntegerField(help_text="1 to 99")


class DeliveryInput(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["pickup", "delivery"])
    counter_code = serializers.CharField(required=False, allow_blank=True, max_length=32)
    consignee = serializers.CharField(required=False, allow_blank=True, max_length=50)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    district = serializers.CharField(required=False, allow_blank=True, max_length=100)


def _delivery(data: dict):
    if data["mode"] == "pickup":
        return PickupDelivery(counter_code=data.get("counter_code", ""))
    return HomeDelivery(
        consignee=data.get("consignee", ""),
        phone=data.get("phone", ""),
        address=data.get("address", ""),
        district=data.get("district", ""),
    )


class PreviewLineOutput(serializers.Serializer):
    listing_id = serializers.IntegerField(source="listing.pk")
    name = serializers.CharField(source="listing.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    value = serializers.DecimalField(**MONEY)
    tax = serializers.DecimalField(**MONEY)
    available = serializers.IntegerField()


class PreviewOrderOutput(serializers.Serializer):
    merchant_code = serializers.CharField()
    merchant_name = serializers.CharField()
    lines = PreviewLineOutput(many=True)
    goods_value = serializers.DecimalField(**MONEY)
    freight = serializers.DecimalField(**MONEY)
    tax_total = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)


class PreviewOutput(serializers.Serializer):
    orders = PreviewOrderOutput(many=True)
    tax_total = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    quota_limit = serializers.DecimalField(**MONEY)
    quota_used = serializers.DecimalField(**MONEY)
    quota_remaining = serializers.DecimalField(**MONEY)
    quota_remaining_after = serializers.DecimalField(**MONEY)
    problems = serializers.ListField(child=serializers.CharField())
    ok = serializers.BooleanField()


class CartOutput(serializers.Serializer):
    lines = CartLineSerializer(many=True)
    preview = PreviewOutput(allow_null=True)


def _cart(shopper) -> dict:
    lines = cart_services.cart_lines(shopper=shopper)
    preview = checkout_preview(shopper=shopper, lines=lines) if lines else None
    return CartOutput({"lines": lines, "preview": preview}).data


class CartApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="cart_get", responses={200: CartOutput, 404: ErrorSerializer})
    def get(self, request):
        return Response(_cart(_shopper(request)))


class CartAddApi(APIView):
    """Add a product (or set its quantity with `replace`); prices always come from the listing."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CartAddInput"

        listing_id = serializers.IntegerField()
        quantity = serializers.IntegerField(default=1)
        replace = serializers.BooleanField(default=False)

    @extend_schema(
        operation_id="cart_add",
        request=InputSerializer,
        responses={200: CartOutput, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def post(self, request):
        shopper = _shopper(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cart_services.cart_add(shopper=shopper, **data.validated_data)
        return Response(_cart(shopper))


class CartRemoveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="cart_remove", responses={200: CartOutput, 404: ErrorSerializer})
    def delete(self, request, listing_id: int):
        shopper = _shopper(request)
        cart_services.cart_remove(shopper=shopper, listing_id=listing_id)
        return Response(_cart(shopper))


class CheckoutInput(serializers.Serializer):
    delivery = DeliveryInput()
    lines = CartLineSerializer(many=True, required=False, help_text="Default: the cart")


class CheckoutPreviewApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="checkout_preview",
        request=CheckoutInput,
        responses={200: PreviewOutput, 400: ErrorSerializer},
    )
    def post(self, request):
        shopper = _shopper(request)
        data = CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        lines = _lines(shopper, data.validated_data)
        preview = checkout_preview(
            shopper=shopper, lines=lines, delivery=_delivery(data.validated_data["delivery"])
        )
        return Response(PreviewOutput(preview).data)


def _lines(shopper, data) -> list[CartLine]:
    if data.get("lines"):
        return [CartLine(x["listing_id"], x["quantity"]) for x in data["lines"]]
    return cart_services.cart_lines(shopper=shopper)


class TimelineStepOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)


class OrderLineOutput(serializers.Serializer):
    gnum = serializers.IntegerField()
    item_no = serializers.CharField()
    barcode = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    total_price = serializers.DecimalField(**MONEY)
    tax = serializers.DecimalField(**MONEY)


class OrderOutput(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.CharField()
    state_reason = serializers.CharField()
    merchant = serializers.CharField(source="merchant.name", allow_null=True)
    delivery_mode = serializers.CharField()
    counter_code = serializers.CharField()
    goods_value = serializers.DecimalField(**MONEY)
    freight = serializers.DecimalField(**MONEY)
    tax_total = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    placed_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


class OrderDetailOutput(OrderOutput):
    lines = OrderLineOutput(many=True)
    clearance = serializers.CharField(source="clearance_state")
    return_no = serializers.CharField()
    timeline = serializers.SerializerMethodField()

    def get_timeline(self, order) -> list[dict]:
        refresh = not self.context.get("just_placed")
        steps = order_selectors.order_timeline(order, refresh=refresh)
        return TimelineStepOutput(steps, many=True).data

    class Meta:
        ref_name = "OrderDetail"


class OrderPlaceApi(APIView):
    """Place the cart (or the given lines): one order per merchant, paid separately."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="orders_place",
        request=CheckoutInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Optional, 1-64 of A-Z a-z 0-9 _ . : - (a UUID). The same key with "
                "the same body again answers with the orders the first request placed "
                "(header Idempotent-Replayed: true) instead of placing new ones; with another "
                "body it is refused (422). Send a new key for each new order; keys are kept "
                "IDEMPOTENCY_KEY_TTL_HOURS.",
            ),
        ],
        responses={
            201: OrderDetailOutput(many=True),
            400: ErrorSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
        },
    )
    def post(self, request):
        shopper = _shopper(request)
        data = CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        from_cart = not data.validated_data.get("lines")
        key = request.headers.get("Idempotency-Key")
        digest = request_hash(request.data)
        # A replay first: a retried cart placement finds the cart already placed and empty.
        if key and (earlier := placement_replayed(shopper=shopper, key=key, digest=digest)):
            return self._answer(earlier.orders, replayed=True)
        placement = {
            "shopper": shopper,
            "lines": _lines(shopper, data.validated_data),
            "delivery": _delivery(data.validated_data["delivery"]),
            "channel": "api",
            "actor": request.user.get_username(),
        }
        replayed = False
        if key:
            placed = order_place_once(idempotency_key=key, digest=digest, **placement)
            orders, replayed = placed.orders, placed.replayed
        else:
            orders = order_place(**placement)
        if from_cart and not replayed:
            cart_services.cart_clear(shopper=shopper)
        return self._answer(orders, replayed=replayed)

    @staticmethod
    def _answer(orders, *, replayed: bool) -> Response:
        if replayed:  # what the first request placed, read back as it stands now
            orders = [order_selectors.order_by_no(o.number) for o in orders]
            response = Response(OrderDetailOutput(orders, many=True).data, status=201)
            response["Idempotent-Replayed"] = "true"
            return response
        # Shown as placed, without reading them back (issue #19: no row read twice): lines,
        # merchant and shopper are the ones placement wrote; nothing is filed yet.
        context = {"just_placed": True}
        return Response(OrderDetailOutput(orders, many=True, context=context).data, status=201)


class OrderListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="orders_list", responses={200: OrderOutput(many=True)})
    def get(self, request):
        orders = order_selectors.orders_for_shopper(shopper=_shopper(request))[:200]
        return Response(OrderOutput(orders, many=True).data)


class OrderDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="orders_detail", responses={200: OrderDetailOutput, 404: ErrorSerializer}
    )
    def get(self, request, order_no: str):
        return Response(OrderDetailOutput(_order(request, order_no)).data)


class PaymentOutput(serializers.Serializer):
    order_number = serializers.CharField(source="order.number")
    state = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    pay_url = serializers.URLField(help_text="Open it (or show it as a QR code) to pay.")
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


class PaymentStartApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="payment_start",
        request=None,
        responses={201: PaymentOutput, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request, order_no: str):
        payment = payment_start(order=_order(request, order_no, details=False), reread=False)
        return Response(PaymentOutput(payment).data, status=201)


class PaymentStatusApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="payment_status", responses={200: PaymentOutput, 404: ErrorSerializer}
    )
    def get(self, request, order_no: str):
        payment = order_selectors.order_payment(_order(request, order_no, details=False))
        if payment is None:
            raise NotFound(_("No payment started for this order yet. Start one first."))
        return Response(PaymentOutput(payment).data)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class OrderCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="orders_cancel",
        request=ReasonInput,
        responses={200: OrderDetailOutput, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request, order_no: str):
        order = _order(request, order_no)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        order_cancel(
            order=order, actor=request.user.get_username(), reason=data.validated_data["reason"]
        )
        return Response(OrderDetailOutput(order_selectors.order_by_no(order.number)).data)


class OrderReturnApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="orders_return",
        request=ReasonInput,
        responses={200: OrderDetailOutput, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request, order_no: str):
        order = _order(request, order_no)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        order_return_request(
            order=order, actor=request.user.get_username(), reason=data.validated_data["reason"]
        )
        return Response(OrderDetailOutput(order_selectors.order_by_no(order.number)).data)


class OrderStatusOutput(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    state_reason = serializers.CharField()
    clearance = serializers.CharField(source="clearance_state")
    delivery_mode = serializers.CharField()
    counter_code = serializers.CharField()
    placed_at = serializers.DateTimeField(source="created_at")
    filed_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    final = serializers.BooleanField(help_text="No further change to wait for: stop polling.")
    poll_after_ms = serializers.IntegerField(
        allow_null=True,
        help_text="Ask again after this many milliseconds (also the X-Poll-After-Ms header; "
        "Retry-After in seconds); it grows with the server's load. Null once final.",
    )
    pickup_code = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Counter pickup, once released: the six digits (null before and once collected).",
    )
    pickup_code_used = serializers.BooleanField(required=False)

    class Meta:
        ref_name = "OrderStatus"


class OrderStatusApi(APIView):
    """The shopper's wait, as one cheap call: the order's state, and when to ask again.

    Send the last answer's `ETag` as `If-None-Match`: while nothing changed the answer is
    `304 Not Modified` with no body. Either way `X-Poll-After-Ms` (and `Retry-After`, in
    seconds) says when to ask again: it grows with the server's load, so please honour it.
    Once released for counter pickup the answer carries the pickup code. One SQL statement
    with a token (the token and the order read together), two with a session."""

    permission_classes = [AllowAny]  # the token or session is checked by the order's own read

    def perform_authentication(self, request):
        pass  # no user lookup: marketplace.poll reads the credential with the order

    @extend_schema(
        operation_id="orders_status",
        summary="Wait for my order: state, ETag/304, when to poll again",
        responses={
            200: OrderStatusOutput,
            304: OpenApiResponse(description="Not modified since the ETag sent"),
            401: ErrorSerializer,
            404: ErrorSerializer,
        },
        parameters=[
            OpenApiParameter(
                "If-None-Match",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="The ETag of the last answer",
            ),
        ],
    )
    def get(self, request, order_no: str):
        row, authenticated = poll.order_row_for_request(request._request, order_no)
        if row is None:
            if not authenticated:
                raise NotAuthenticated()
            raise OrderNotFound()
        etag = poll.etag_for(row)
        ms = poll.poll_after_ms(row["state"])
        if poll.if_none_match(request, etag):
            return poll.with_interval(Response(status=304), ms, etag)
        body = {
            **row,
            "state_label": str(Order.State(row["state"]).label),
            "final": ms is None,
            "poll_after_ms": ms,
            **poll.extras(row),
        }
        return poll.with_interval(Response(OrderStatusOutput(body).data), ms, etag)
