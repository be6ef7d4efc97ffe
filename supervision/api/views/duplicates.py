"""Duplicate matters and linked items (减负, DOMAIN.md rule 12): the registration dry run, the office's
疑似重复 queue (confirm / dismiss) and 合并督办 links (link / unlink). Thin: parse, one service, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from supervision import selectors, services
from supervision.api.inputs import parse
from supervision.api.serializers import duplicates as s
from supervision.filtersets import DuplicateSuspicionFilterSet, ItemLinkFilterSet
from supervision.models import DuplicateSuspicion, ItemLink


class DuplicateCheckView(APIView):
    """POST /items/duplicate-check/: the candidates registering this item would show (nothing saved)."""

    @extend_schema(
        request=s.DuplicateCheckInput,
        responses={200: s.DuplicateCheckResult},
        summary="登记前查重（不保存）",
        description="在同一牵头单位的在办事项（及近期销号事项）中查找疑似同一事项，返回相似度和中文理由。"
        "登记接口（POST /items/）遇到疑似重复时返回 409 possible_duplicate，确认不是重复的，带 confirm_not_duplicate=true 重新提交。",
    )
    def post(self, request):
        data = parse(s.DuplicateCheckInput, request)
        candidates = services.duplicate_check(actor=request.user, **data)
        return Response({"candidates": [c.as_dict() for c in candidates]})


class DuplicateSuspicionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """疑似重复: items accepted from OA intake or an import that may duplicate one on the ledger,
    for the office to confirm or dismiss (?status=pending is the queue)."""

    lookup_value_regex = r"[0-9]+"
    queryset = DuplicateSuspicion.objects.none()  # for the schema; reads go through selectors
    serializer_class = s.DuplicateSuspicionSerializer
    filterset_class = DuplicateSuspicionFilterSet

    def get_queryset(self):
        return selectors.suspicion_list(user=self.request.user)

    def get_object(self):
        return selectors.suspicion_get(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(
        request=s.SuspicionConfirmInput, responses=s.DuplicateSuspicionSerializer, summary="确认重复（可同时合并督办）"
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        suspicion = self.get_object()
        data = parse(s.SuspicionConfirmInput, request)
        services.suspicion_decide(actor=request.user, suspicion=suspicion, confirm=True, **data)
        return Response(s.DuplicateSuspicionSerializer(self.get_object()).data)

    @extend_schema(request=s.SuspicionDecisionInput, responses=s.DuplicateSuspicionSerializer, summary="排除重复（不再提示）")
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        suspicion = self.get_object()
        data = parse(s.SuspicionDecisionInput, request)
        services.suspicion_decide(actor=request.user, suspicion=suspicion, confirm=False, **data)
        return Response(s.DuplicateSuspicionSerializer(self.get_object()).data)


class ItemLinkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """合并督办: items followed through one lead item (?lead=ID, ?item=ID, ?active=true)."""

    lookup_value_regex = r"[0-9]+"
    queryset = ItemLink.objects.none()  # for the schema; reads go through selectors
    serializer_class = s.ItemLinkSerializer
    filterset_class = ItemLinkFilterSet

    def get_queryset(self):
        return selectors.link_list(user=self.request.user)

    def get_object(self):
        return selectors.link_get(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(
        request=s.ItemLinkInput,
        responses={201: s.ItemLinkSerializer, 409: OpenApiResponse(description="事项已合并、互为主办或状态不允许")},
        summary="合并督办：将事项并入主办事项",
    )
    def create(self, request):
        data = parse(s.ItemLinkInput, request)
        link = services.item_link(actor=request.user, **data)
        return Response(
            s.ItemLinkSerializer(selectors.link_get(user=request.user, pk=link.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=s.UnlinkInput, responses=s.ItemLinkSerializer, summary="取消合并督办")
    @action(detail=True, methods=["post"])
    def unlink(self, request, pk=None):
        link = self.get_object()
        data = parse(s.UnlinkInput, request)
        services.item_unlink(actor=request.user, link=link, **data)
        return Response(s.ItemLinkSerializer(self.get_object()).data)
