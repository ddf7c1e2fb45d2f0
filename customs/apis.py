"""HTTP entry points: the signed receipt endpoint (for the gateway) and a clearance read."""

from __future__ import annotations

import json
import logging

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.callbacks import CallbackRefused, CallbackRejected
from customs import selectors, services
from customs.gateway import get_transport

logger = logging.getLogger(__name__)


class RawParser(BaseParser):
    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read()


class ReceiptPushApi(APIView):
    """The gateway pushes receipts here, signed with the shared HMAC key (no user login)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [RawParser]
    throttle_classes: list = []

    @extend_schema(request=None, responses={200: None}, summary="Receive signed customs receipts")
    def post(self, request):
        body = request.body
        try:
            # The configured transport knows how its gateway signs (CUSTOMS_TRANSPORT).
            get_transport().verify_receipt_push(
                method="POST", path=request.get_full_path(), body=body, headers=request.headers
            )
        except CallbackRefused as refused:
            logger.warning("customs receipt push refused: %s", refused.reason)
            raise CallbackRejected.because(refused.reason) from None
        try:
            rows = json.loads(body)["receipts"]
            if not isinstance(rows, list):
                raise TypeError("receipts is not a list")
        except (ValueError, KeyError, TypeError):
            raise CallbackRejected.because("malformed") from None
        recorded = services.receipts_accept_push(receipts=rows)
        return Response({"recorded": recorded, "received": len(rows)})


class ClearanceOutput(serializers.Serializer):
    order_no = serializers.CharField()
    state = serializers.CharField()
    reason = serializers.CharField()
    ciq_required = serializers.BooleanField()
    inventory_list_no = serializers.CharField()
    goods_released = serializers.BooleanField()
    changed_at = serializers.DateTimeField()


class CanViewClearances(permissions.BasePermission):
    """Platform and customs staff only: `is_staff` alone also covers merchant staff, who must
    not read other merchants' filings (found by the IDOR matrix in tests/proof)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_staff and user.has_perm("customs.view_orderclearance"))


class OrderClearanceApi(APIView):
    """Staff read of an order's clearance and why (the marketplace uses the selector)."""

    permission_classes = [CanViewClearances]

    @extend_schema(responses={200: ClearanceOutput})
    def get(self, request, order_no: str):
        view = selectors.order_clearance(order_no)
        if view is None:
            from config.errors import NotFound

            raise NotFound("No customs filing exists for this order.")
        return Response(ClearanceOutput(view).data)


class RealtimeQueryApi(APIView):
    """Customs' real-time data request (openReq={"orderNo", "sessionID", "serviceTime", ...}
    as a form field or the JSON body), signed by the authority (customs/realtime.py)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [RawParser]
    throttle_classes: list = []

    @extend_schema(request=None, responses={200: None}, summary="Customs real-time data query")
    def post(self, request):
        from urllib.parse import parse_qs

        from django.utils import timezone

        from customs import realtime
        from customs.services.realtime import QueryRefused, realtime_query_receive

        body = request.body
        now = int(timezone.now().timestamp() * 1000)
        try:
            form = parse_qs(body.decode())
            raw = form["openReq"][0] if "openReq" in form else body.decode()
            query = json.loads(raw)
            if not isinstance(query, dict):
                raise TypeError("openReq is not an object")
            realtime_query_receive(query=query)
        except (ValueError, TypeError, UnicodeDecodeError):
            return Response({"code": realtime.BAD_REQUEST, "message": "malformed openReq",
                             "serviceTime": now}, status=400)  # fmt: skip
        except QueryRefused as refused:
            logger.warning("customs real-time query refused: %s", refused.message)
            status = 403 if refused.code == realtime.BAD_SIGNATURE else 200
            return Response({"code": refused.code, "message": refused.message,
                             "serviceTime": now}, status=status)  # fmt: skip
        return Response({"code": realtime.OK, "message": "", "serviceTime": now})
