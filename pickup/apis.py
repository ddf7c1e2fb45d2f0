"""Kiosk API for counter hardware and the kiosk UI: one view per action, thin."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.errors import OrderNotFound
from marketplace.models import Order
from marketplace.selectors.shoppers import shopper_by_resident_id
from pickup.auth import IsKiosk, KioskKeyAuthentication, KioskSessionAuthentication
from pickup.errors import NotAPickupOrder, NotReady, ShopperNotRegistered
from pickup.qr import qr_svg
from pickup.selectors import order_journey, pickup_order_for_user
from pickup.services import pickup_code_check, pickup_handover, pickup_identity_check
from pickup.services.codes import code_for, pickup_code_issue
from pickup.services.handover import order_items
from pickup.services.walkin import walkin_cart, walkin_order, walkin_register


class KioskApi(APIView):
    authentication_classes = [KioskKeyAuthentication, KioskSessionAuthentication]
    permission_classes = [IsKiosk]

    @property
    def kiosk(self):
        return self.request.auth


class ItemOutput(serializers.Serializer):
    barcode = serializers.CharField()
    item_no = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    quantity = serializers.IntegerField()

    class Meta:
        ref_name = "KioskItem"


class StepOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    at = serializers.CharField(allow_null=True)

    class Meta:
        ref_name = "KioskJourneyStep"


def _order_payload(order) -> dict:
    return {
        "order_no": order.number,
        "state": order.state,
        "state_display": order.get_state_display(),  # the words people read; state is a code
        "counter_code": order.counter_code,
        "shopper_name": order.shopper.real_name,
        "shopper_masked_id": order.shopper.masked_id,
        "items": order_items(order),
        "journey": order_journey(order),
    }


class OrderOutput(serializers.Serializer):
    order_no = serializers.CharField()
    state = serializers.CharField()
    state_display = serializers.CharField()
    counter_code = serializers.CharField()
    shopper_name = serializers.CharField()
    shopper_masked_id = serializers.CharField()
    items = ItemOutput(many=True)
    journey = StepOutput(many=True)

    class Meta:
        ref_name = "KioskOrder"


class KioskMeApi(KioskApi):
    class Output(serializers.Serializer):
        kiosk_id = serializers.IntegerField()
        name = serializers.CharField()
        counter_code = serializers.CharField()

        class Meta:
            ref_name = "KioskMe"

    @extend_schema(responses=Output, summary="The kiosk this key belongs to")
    def get(self, request):
        k = self.kiosk
        return Response({"kiosk_id": k.pk, "name": k.name, "counter_code": k.counter.code})


class PickupLookupApi(KioskApi):
    class Input(serializers.Serializer):
        code = serializers.CharField(max_length=20)

        class Meta:
            ref_name = "KioskLookupInput"

    @extend_schema(request=Input, responses=OrderOutput, summary="Look up a pickup code")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        found = pickup_code_check(kiosk=self.kiosk, code=data.validated_data["code"])
        return Response(_order_payload(found.order))


class IdentityInput(serializers.Serializer):
    code = serializers.CharField(max_length=20)
    id_last6 = serializers.CharField(max_length=6, required=False, allow_blank=True, default="")
    id_full = serializers.CharField(max_length=18, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "KioskIdentityInput"


class PickupIdentityApi(KioskApi):
    class Output(serializers.Serializer):
        order_no = serializers.CharField()
        identity_ok = serializers.BooleanField()

        class Meta:
            ref_name = "KioskIdentityOutput"

    @extend_schema(request=IdentityInput, responses=Output, summary="Check the shopper's ID")
    def post(self, request):
        data = IdentityInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        found = pickup_identity_check(
            kiosk=self.kiosk, code=v["code"], last6=v["id_last6"], full_id=v["id_full"]
        )
        return Response({"order_no": found.order.number, "identity_ok": True})


class PickupHandoverApi(KioskApi):
    class Input(IdentityInput):
        barcodes = serializers.ListField(
            child=serializers.CharField(max_length=32), allow_empty=False, max_length=500
        )

        class Meta:
            ref_name = "KioskHandoverInput"

    class Output(serializers.Serializer):
        order_no = serializers.CharField()
        state = serializers.CharField()
        handed_over_at = serializers.DateTimeField()
        already = serializers.BooleanField()
        shopper_masked_id = serializers.CharField()
        items = ItemOutput(many=True)
        journey = StepOutput(many=True)

        class Meta:
            ref_name = "KioskHandoverOutput"

    @extend_schema(request=Input, responses=Output, summary="Confirm handover (idempotent)")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = pickup_handover(
            kiosk=self.kiosk,
            code=v["code"],
            last6=v["id_last6"],
            full_id=v["id_full"],
            barcodes=v["barcodes"],
        )
        order = result.order
        return Response(
            {
                "order_no": order.number,
                "state": order.state,
                "handed_over_at": result.handed_over_at,
                "already": result.already,
                "shopper_masked_id": order.shopper.masked_id,
                "items": result.items,
                "journey": order_journey(order),
            }
        )


class WalkinRegisterApi(KioskApi):
    class Input(serializers.Serializer):
        real_name = serializers.CharField(max_length=50)
        resident_id = serializers.CharField(max_length=18)
        mobile = serializers.CharField(max_length=20)

        class Meta:
            ref_name = "KioskRegisterInput"

    class Output(serializers.Serializer):
        real_name = serializers.CharField()
        masked_id = serializers.CharField()

        class Meta:
            ref_name = "KioskRegisterOutput"

    @extend_schema(request=Input, responses={201: Output}, summary="Register a walk-in shopper")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        shopper = walkin_register(kiosk=self.kiosk, **data.validated_data)
        return Response({"real_name": shopper.real_name, "masked_id": shopper.masked_id}, 201)


class WalkinOrderApi(KioskApi):
    class Input(serializers.Serializer):
        resident_id = serializers.CharField(max_length=18)
        barcodes = serializers.ListField(
            child=serializers.CharField(max_length=32), allow_empty=False, max_length=200
        )

        class Meta:
            ref_name = "KioskWalkinOrderInput"

    class PlacedOutput(serializers.Serializer):
        order_no = serializers.CharField()
        state = serializers.CharField()
        pay_url = serializers.CharField()
        pay_qr_svg = serializers.CharField()
        pickup_code = serializers.CharField()
        total = serializers.CharField(help_text="what the shopper pays, yuan with 2 decimals")
        tax_total = serializers.CharField()

        class Meta:
            ref_name = "KioskWalkinPlaced"

    @extend_schema(request=Input, responses={201: PlacedOutput(many=True)}, summary="Order")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        shopper = shopper_by_resident_id(data.validated_data["resident_id"])
        if shopper is None:
            raise ShopperNotRegistered()
        placed = walkin_order(
            kiosk=self.kiosk, shopper=shopper, barcodes=data.validated_data["barcodes"]
        )
        return Response(
            [
                {
                    "order_no": p.order.number,
                    "state": p.order.state,
                    "pay_url": p.pay_url,
                    "pay_qr_svg": qr_svg(p.pay_url, box_size=6),
                    "pickup_code": code_for(p.order.pickup_code),
                    "total": f"{p.order.total:.2f}",
                    "tax_total": f"{p.order.tax_total:.2f}",
                }
                for p in placed
            ],
            status=201,
        )


class WalkinCartApi(KioskApi):
    """The walk-in cart priced as it grows: every scan posts the whole list of barcodes."""

    class Input(serializers.Serializer):
        resident_id = serializers.CharField(max_length=18, required=False, allow_blank=True)
        barcodes = serializers.ListField(
            child=serializers.CharField(max_length=32), allow_empty=False, max_length=200
        )

        class Meta:
            ref_name = "KioskWalkinCartInput"

    class LineOutput(serializers.Serializer):
        barcode = serializers.CharField(source="listing.item.barcode")
        name_zh = serializers.CharField(source="listing.item.name_zh")
        name_en = serializers.CharField(source="listing.item.name_en")
        quantity = serializers.IntegerField()
        unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
        value = serializers.DecimalField(max_digits=12, decimal_places=2)
        tax = serializers.DecimalField(max_digits=12, decimal_places=2)

        class Meta:
            ref_name = "KioskWalkinCartLine"

    class Output(serializers.Serializer):
        lines = serializers.ListField(child=serializers.DictField())
        goods_value = serializers.DecimalField(max_digits=12, decimal_places=2)
        tax_total = serializers.DecimalField(max_digits=12, decimal_places=2)
        total = serializers.DecimalField(max_digits=12, decimal_places=2)
        problems = serializers.ListField(child=serializers.CharField())

        class Meta:
            ref_name = "KioskWalkinCart"

    @extend_schema(request=Input, responses=Output, summary="Price the walk-in cart")
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        resident_id = data.validated_data.get("resident_id") or ""
        shopper = shopper_by_resident_id(resident_id) if resident_id else None
        preview = walkin_cart(
            kiosk=self.kiosk, shopper=shopper, barcodes=data.validated_data["barcodes"]
        )
        lines = [line for order in preview.orders for line in order.lines]
        return Response(
            {
                "lines": self.LineOutput(lines, many=True).data,
                "goods_value": f"{sum(o.goods_value for o in preview.orders):.2f}",
                "tax_total": f"{preview.tax_total:.2f}",
                "total": f"{preview.total:.2f}",
                "problems": preview.problems,
            }
        )


class OrderStatusApi(KioskApi):
    @extend_schema(responses=OrderOutput, summary="Live state and journey of an order here")
    def get(self, request, order_no: str):
        order = get_object_or_404(
            Order.objects.select_related("shopper"),
            number=order_no,
            counter_code=self.kiosk.counter.code,
        )
        return Response(_order_payload(order))


class ShopperPickupCodeApi(APIView):
    """The shopper's own pickup code (what the order page shows), for the shopper's app.

    Signed-in shopper only (token or session); someone else's order is a 404. Given once customs
    and CIQ have released the order, until it is collected (`used` then says so)."""

    class Output(serializers.Serializer):
        order_no = serializers.CharField()
        counter_code = serializers.CharField()
        code = serializers.CharField(allow_null=True, help_text="Six digits; null once used")
        used = serializers.BooleanField()

        class Meta:
            ref_name = "ShopperPickupCode"

    @extend_schema(
        operation_id="orders_pickup_code",
        responses=Output,
        summary="My pickup code for a released order",
    )
    def get(self, request, order_no: str):
        order = pickup_order_for_user(user=request.user, order_no=order_no)
        if order is None:
            raise OrderNotFound()
        if order.delivery_mode != "pickup":
            raise NotAPickupOrder(order_no=order.number)
        if order.state not in ("released", "delivered"):
            raise NotReady(order_no=order.number, state=order.state)
        pickup_code = pickup_code_issue(order=order)
        used = pickup_code.used_at is not None
        return Response(
            {
                "order_no": order.number,
                "counter_code": order.counter_code,
                "code": None if used else code_for(pickup_code),
                "used": used,
            }
        )
