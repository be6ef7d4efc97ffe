"""Referrals across the ledger (移交): the receiving departments' list, 受理, the outcome, and the
counts by outcome. Referring itself is on the item (items/{id}/referrals/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from supervision import selectors, services
from supervision.api.inputs import parse
from supervision.api.serializers.ledger import ReferralSerializer
from supervision.api.serializers.referrals import (
    ReferralAcknowledgeInput,
    ReferralOutcomeCountSerializer,
    ReferralOutcomeInput,
)


class ReferralViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """移交: 纪检 and 组织部门 see what was referred to them; they accept it and record the outcome."""

    lookup_value_regex = r"[0-9]+"
    serializer_class = ReferralSerializer
    filterset_class = None

    def get_queryset(self):
        return selectors.referrals_received(user=self.request.user)

    def get_object(self):
        return selectors.referral_get(user=self.request.user, pk=self.kwargs["pk"])

    def _render(self, referral):
        return Response(ReferralSerializer(selectors.referral_get(user=self.request.user, pk=referral.pk)).data)

    @extend_schema(request=ReferralAcknowledgeInput, responses=ReferralSerializer, summary="受理移交")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        referral = self.get_object()
        data = parse(ReferralAcknowledgeInput, request)
        return self._render(services.referral_acknowledge(actor=request.user, referral=referral, comment=data["comment"]))

    @extend_schema(request=ReferralOutcomeInput, responses=ReferralSerializer, summary="登记移交处理结果")
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        referral = self.get_object()
        data = parse(ReferralOutcomeInput, request)
        return self._render(services.referral_outcome_record(actor=request.user, referral=referral, **data))


class ReferralOutcomeStatsView(APIView):
    @extend_schema(
        summary="移交处理结果统计",
        description="按移交部门和处理结果统计移交件数（只计本人可见的事项）。",
        responses=ReferralOutcomeCountSerializer(many=True),
        tags=["stats"],
    )
    def get(self, request):
        rows = selectors.referral_outcome_counts(user=request.user)
        return Response(ReferralOutcomeCountSerializer(rows, many=True).data)
