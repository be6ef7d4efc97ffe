"""Leader comments across the ledger: the reader's list (?unread=true: 批示待阅) and marking read.
Commenting itself is on the item or instruction (items/{id}/comments/, instructions/{id}/comments/)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from supervision import selectors, services
from supervision.api.serializers.comments import LeaderCommentSerializer

UNREAD = OpenApiParameter("unread", OpenApiTypes.BOOL, description="true：只列出本人未读的批示（批示待阅）")


class LeaderCommentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """领导批示、点评 the user may read (on items and instructions they can see)."""

    lookup_value_regex = r"[0-9]+"
    serializer_class = LeaderCommentSerializer
    filterset_class = None

    def get_queryset(self):
        if self.request.query_params.get("unread") in ("true", "1"):
            return selectors.comments_to_read(user=self.request.user)
        return selectors.comment_list(user=self.request.user)

    def get_object(self):
        return selectors.comment_get(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(parameters=[UNREAD], summary="领导批示列表（?unread=true 为批示待阅）")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=LeaderCommentSerializer, summary="标记批示已阅")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        comment = self.get_object()
        services.comment_mark_read(actor=request.user, comment=comment)
        return Response(LeaderCommentSerializer(selectors.comment_get(user=request.user, pk=comment.pk)).data)
