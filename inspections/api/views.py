from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspections.api.serializers import MeOutput
from inspections.models import User


class MeView(APIView):
    """The caller's account: roles, jurisdiction and inspector profile."""

    @extend_schema(responses=MeOutput, tags=["accounts"])
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)  # IsAuthenticated guarantees it
        user = (
            User.objects.select_related("jurisdiction", "inspector_profile__home_division")
            .prefetch_related("groups")
            .get(pk=request.user.id)
        )
        return Response(MeOutput(user).data)
