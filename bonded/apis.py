"""Read-only stock API: what can be ordered for pickup, per item and counter."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bonded import selectors

MAX_ITEMS_PER_QUERY = 200


class AvailabilityApi(APIView):
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        item_no = serializers.ListField(
            child=serializers.CharField(max_length=32),
            required=False,
            max_length=MAX_ITEMS_PER_QUERY,
        )
        counter = serializers.ListField(child=serializers.CharField(max_length=32), required=False)

    class OutputSerializer(serializers.Serializer):
        item_no = serializers.CharField()
        counter_code = serializers.CharField()
        counter_name_zh = serializers.CharField()
        counter_name_en = serializers.CharField()
        available = serializers.IntegerField()

        class Meta:
            ref_name = "StockAvailability"

    @extend_schema(
        parameters=[
            OpenApiParameter("item_no", str, many=True, description="customs item numbers"),
            OpenApiParameter("counter", str, many=True, description="pickup counter codes"),
        ],
        responses=OutputSerializer(many=True),
        summary="Units available for pickup, per item and counter",
    )
    def get(self, request):
        query = self.InputSerializer(
            data={k: request.query_params.getlist(k) for k in ("item_no", "counter")}
        )
        query.is_valid(raise_exception=True)
        rows = selectors.availability_at_counters(
            item_nos=query.validated_data.get("item_no") or None,
            counter_codes=query.validated_data.get("counter") or None,
        )
        return Response(self.OutputSerializer(rows, many=True).data)


class CounterListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name_zh = serializers.CharField()
        name_en = serializers.CharField()
        address_zh = serializers.CharField()
        address_en = serializers.CharField()
        opening_hours = serializers.CharField()
        inside_supervision_zone = serializers.BooleanField()

        class Meta:
            ref_name = "PickupCounter"

    @extend_schema(responses=OutputSerializer(many=True), summary="Pickup counters")
    def get(self, request):
        return Response(self.OutputSerializer(selectors.pickup_counters(), many=True).data)
