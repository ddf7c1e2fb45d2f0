"""Warehouse API for scanners and handhelds: one view per action, thin; the same services as
the operator's pages. Token or session auth; warehouse operators (and superusers) only."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch import selectors, services
from dispatch.models import Mismatch, PickLine, Shipment, Wave
from dispatch.services.picking import next_line
from dispatch.views import is_warehouse_operator


class IsWarehouseOperator(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_warehouse_operator(request.user)


class WarehouseApi(APIView):
    permission_classes = [IsWarehouseOperator]

    def actor(self) -> str:
        return self.request.user.get_username()


class LineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order_no = serializers.CharField(source="shipment.order_no")
    location_code = serializers.CharField()
    item_no = serializers.CharField()
    barcode = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    picked = serializers.IntegerField()
    state = serializers.CharField()

    class Meta:
        ref_name = "DispatchPickLine"


class MismatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order_no = serializers.CharField(source="shipment.order_no")
    kind = serializers.CharField()
    expected = serializers.CharField()
    found = serializers.CharField()

    class Meta:
        ref_name = "DispatchMismatch"


class WaveOutput(serializers.Serializer):
    number = serializers.CharField()
    day = serializers.DateField()
    state = serializers.CharField()
    next = LineOutput(allow_null=True)
    stop = MismatchOutput(allow_null=True)
    lines = LineOutput(many=True)

    class Meta:
        ref_name = "DispatchWave"


def _wave_payload(wave: Wave) -> dict:
    stop = selectors.open_mismatches(wave=wave).first()
    return {
        "number": wave.number,
        "day": wave.day,
        "state": wave.state,
        "next": None if stop else next_line(wave),
        "stop": stop,
        "lines": [line for group in selectors.pick_list(wave) for line in group.lines],
    }


class WaveListApi(WarehouseApi):
    class Summary(serializers.Serializer):
        number = serializers.CharField()
        day = serializers.DateField()
        state = serializers.CharField()
        orders = serializers.IntegerField()
        stopped = serializers.IntegerField()

        class Meta:
            ref_name = "DispatchWaveSummary"

    @extend_schema(responses=Summary(many=True))
    def get(self, request):
        """Today's waves (and any still open)."""
        return Response(self.Summary(selectors.waves_today(), many=True).data)

    @extend_schema(request=None, responses={201: WaveOutput, 204: None})
    def post(self, request):
        """Start a wave with the orders waiting (earliest deadline first); 204 when none wait."""
        wave = services.wave_build(actor=self.actor())
        if wave is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(WaveOutput(_wave_payload(wave)).data, status=status.HTTP_201_CREATED)


class WaveDetailApi(WarehouseApi):
    @extend_schema(responses=WaveOutput)
    def get(self, request, number: str):
        """The pick list in walk order, what to pick next, or the stop to fix first."""
        wave = get_object_or_404(Wave, number=number)
        return Response(WaveOutput(_wave_payload(wave)).data)


class WaveScanApi(WarehouseApi):
    class Input(serializers.Serializer):
        barcode = serializers.CharField(max_length=60)

        class Meta:
            ref_name = "DispatchScanInput"

    class Output(serializers.Serializer):
        line = LineOutput()
        line_done = serializers.BooleanField()
        shipment_done = serializers.BooleanField()
        next = LineOutput(allow_null=True)

        class Meta:
            ref_name = "DispatchScanOutput"

    @extend_schema(request=Input, responses=Output)
    def post(self, request, number: str):
        """One scan at the current line: 409 `wrong_item` stops the order until it is fixed."""
        wave = get_object_or_404(Wave, number=number)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.pick_scan(
            wave_id=wave.pk, barcode=data.validated_data["barcode"], actor=self.actor()
        )
        payload = {
            "line": result.line,
            "line_done": result.line_done,
            "shipment_done": result.shipment_done,
            "next": next_line(wave),
        }
        return Response(self.Output(payload).data)


class LineShortApi(WarehouseApi):
    class Input(serializers.Serializer):
        on_shelf = serializers.IntegerField(min_value=0)

        class Meta:
            ref_name = "DispatchShortInput"

    @extend_schema(request=Input, responses=MismatchOutput)
    def post(self, request, line_id: int):
        """Fewer units on the shelf than the line still needs: the order stops."""
        line = get_object_or_404(PickLine, pk=line_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        stop = services.pick_short(
            line_id=line.pk, on_shelf=data.validated_data["on_shelf"], actor=self.actor()
        )
        return Response(MismatchOutput(stop).data, status=status.HTTP_201_CREATED)


class MismatchFixApi(WarehouseApi):
    class Input(serializers.Serializer):
        resolution = serializers.ChoiceField(choices=Mismatch.Resolution.choices)
        note = serializers.CharField(max_length=300, required=False, allow_blank=True)

        class Meta:
            ref_name = "DispatchFixInput"

    @extend_schema(request=Input, responses=MismatchOutput)
    def post(self, request, mismatch_id: int):
        mismatch = get_object_or_404(Mismatch, pk=mismatch_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fixed = services.mismatch_resolve(
            mismatch_id=mismatch.pk, actor=self.actor(), **data.validated_data
        )
        return Response(MismatchOutput(fixed).data)


class ShipmentOutput(serializers.Serializer):
    order_no = serializers.CharField()
    state = serializers.CharField()
    logistics_code = serializers.CharField()
    logistics_no = serializers.CharField()
    declared_weight_kg = serializers.DecimalField(max_digits=9, decimal_places=3)
    measured_weight_kg = serializers.DecimalField(max_digits=9, decimal_places=3, allow_null=True)
    released_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    timeliness = serializers.CharField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "DispatchShipment"


class ShipmentDetailApi(WarehouseApi):
    @extend_schema(responses=ShipmentOutput)
    def get(self, request, order_no: str):
        return Response(ShipmentOutput(get_object_or_404(Shipment, order_no=order_no)).data)


class ShipmentPackApi(WarehouseApi):
    class Input(serializers.Serializer):
        weight_kg = serializers.DecimalField(max_digits=9, decimal_places=3, min_value=0)

        class Meta:
            ref_name = "DispatchPackInput"

    @extend_schema(request=Input, responses=ShipmentOutput)
    def post(self, request, order_no: str):
        """Measured gross weight; 409 `weight_out_of_tolerance` stops the order."""
        shipment = get_object_or_404(Shipment, order_no=order_no)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        packed = services.shipment_pack(
            shipment_id=shipment.pk, weight_kg=data.validated_data["weight_kg"], actor=self.actor()
        )
        return Response(ShipmentOutput(packed).data)


class ShipmentDispatchApi(WarehouseApi):
    class Output(ShipmentOutput):
        already = serializers.BooleanField()

        class Meta:
            ref_name = "DispatchShipmentDispatched"

    @extend_schema(request=None, responses=Output)
    def post(self, request, order_no: str):
        """Hand over to the courier; a second confirm returns `already: true`, issues nothing."""
        shipment = get_object_or_404(Shipment, order_no=order_no)
        shipment, issued = services.shipment_dispatch(shipment_id=shipment.pk, actor=self.actor())
        data = dict(ShipmentOutput(shipment).data)
        return Response({**data, "already": not issued})
