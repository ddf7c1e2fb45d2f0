"""The customs-officer role: who may record an inspection decision.

Held as the permission `customs.record_inspection_decision`, normally through the group
"Customs officer". It must be granted explicitly: a superuser (the platform's own operator) or
platform staff without it are not customs officers, because the decision is the authority's.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

OFFICER_GROUP = "Customs officer"
OFFICER_CODENAME = "record_inspection_decision"
OFFICER_PERMISSION = f"customs.{OFFICER_CODENAME}"


def is_customs_officer(user) -> bool:
    """Granted to the user or one of their groups; superuser status does not count."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return Permission.objects.filter(
        Q(user=user) | Q(group__user=user),
        codename=OFFICER_CODENAME,
        content_type__app_label="customs",
    ).exists()


def officer_group() -> Group:
    """The group with the permission (migrate creates it for the InspectionDecision model) and
    the views an officer needs to decide; the demo seed and the tests put officers in it."""
    from django.contrib.contenttypes.models import ContentType

    from customs.models import InspectionDecision

    group, _ = Group.objects.get_or_create(name=OFFICER_GROUP)
    permission, _ = Permission.objects.get_or_create(
        codename=OFFICER_CODENAME,
        content_type=ContentType.objects.get_for_model(InspectionDecision),
        defaults={"name": "Can record an inspection decision"},
    )
    views = Permission.objects.filter(
        content_type__app_label="customs",
        codename__in=[
            "view_inspectionqueue",
            "view_inspectiondecision",
            "view_declaration",
            "view_receipt",
            "view_orderclearance",
        ],
    )
    group.permissions.add(permission, *views)
    return group
