"""HTTP entry points: the signed receipt endpoint (for the gateway) and a clearance read."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.tasks import send_on_commit
from customs import selectors, services
from customs.errors import BadSignature, InvalidMessage
from customs.signing import MAX_SKEW_SECONDS, SignatureError, verify

logger = logging.getLogger(__name__)


class RawParser(BaseParser):
    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read()


def _remember_nonce(nonce: str) -> bool:
    return cache.add(f"customs:nonce:{nonce}", 1, timeout=2 * MAX_SKEW_SECONDS)


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
            verify(
                secret=settings.CUSTOMS_GATEWAY_SECRET,
                method="POST",
                path=request.get_full_path(),
                body=body,
                headers=request.headers,
                remember_nonce=_remember_nonce,
            )
        except SignatureError as exc:
            raise BadSignature(str(exc)) from exc
        try:
            rows = json.loads(body)["receipts"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidMessage('expected JSON {"receipts": [...]}') from exc
        with transaction.atomic():
            new_ids = services.receipts_record(receipts=rows, source="push")
            # One task for the whole push (applied in the order they came): a task per receipt
            # cost a quarter of the receipts worker's CPU in Celery overhead (bench/README.md).
            if new_ids:
                send_on_commit("customs.tasks.receipts_process", args=(new_ids,))
        return Response({"recorded": len(new_ids), "received": len(rows)})


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
