"""Less burden (减负, DOMAIN.md rule 12): inspection activities (统筹督查) with clash warnings, and the
weekly burden per unit. Thin: parse, one service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from supervision import selectors, services
from supervision.api.inputs import parse
from supervision.api.serializers import burden as s
from supervision.filtersets import SupervisionActivityFilterSet
from supervision.models import SupervisionActivity
from supervision.stats.burden import burden_weeks

CLASH_409 = OpenApiResponse(
    description="activity_clash：督查对象同一周已有其他督查活动。错误体另含 warnings（单位、已有活动、日期、说明）；"
    "确需分开开展的，带 confirm_clash=true 重新提交"
)


class SupervisionActivityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """统筹督查: inspection activities, booked by the office; a unit sees the announced ones that visit it."""

    lookup_value_regex = r"[0-9]+"
    queryset = SupervisionActivity.objects.none()  # for the schema; reads go through selectors
    serializer_class = s.ActivitySerializer
    filterset_class = SupervisionActivityFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.activity_list(user=self.request.user)

    def get_object(self):
        return selectors.activity_get(user=self.request.user, pk=self.kwargs["pk"])

    def _render(self, activity, clashes, code=status.HTTP_200_OK):
        activity = selectors.activity_get(user=self.request.user, pk=activity.pk)
        activity.warnings = [c.as_dict() for c in clashes]
        return Response(s.ActivitySavedSerializer(activity).data, status=code)

    @extend_schema(request=s.ActivityInput, responses={201: s.ActivitySavedSerializer, 409: CLASH_409}, summary="登记督查活动")
    def create(self, request):
        data = parse(s.ActivityInput, request)
        activity, clashes = services.activity_create(actor=request.user, **data)
        return self._render(activity, clashes, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ActivityUpdateInput, responses={200: s.ActivitySavedSerializer, 409: CLASH_409}, summary="修改督查活动"
    )
    def partial_update(self, request, pk=None):
        activity = self.get_object()
        data = parse(s.ActivityUpdateInput, request)
        activity, clashes = services.activity_update(actor=request.user, activity=activity, **data)
        return self._render(activity, clashes)


class BurdenView(APIView):
    """GET /stats/burden/: 减负 — per unit per week, what the units received and were asked for."""

    @extend_schema(
        parameters=[s.BurdenQueryInput],
        responses={200: s.BurdenRowSerializer(many=True)},
        summary="基层负担（减负）：各单位每周收到的消息、催办、报送要求与报送、同一事项的督办件数、督查活动",
    )
    def get(self, request):
        query = s.BurdenQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = burden_weeks(user=request.user, **query.validated_data)
        return Response(s.BurdenRowSerializer(rows, many=True).data)
