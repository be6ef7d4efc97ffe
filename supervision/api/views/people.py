from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.choices import Role, UnitKind
from accounts.models import RoleAssignment, Unit, User
from supervision.api.serializers.people import UnitSerializer, UserSerializer
from supervision.filtersets import FilterSet, IdFilter


class UnitFilterSet(FilterSet):
    parent = IdFilter(field_name="parent_id", label="上级单位")
    kind = filters.ChoiceFilter(choices=UnitKind.choices, label="类型")
    within = IdFilter(method="filter_within", label="某单位及其下级单位")
    q = filters.CharFilter(field_name="name", lookup_expr="icontains", label="名称")

    class Meta:
        model = Unit
        fields = ["parent", "kind", "is_active"]

    def filter_within(self, queryset, name, value):
        unit = Unit.objects.filter(pk=value).first()
        return queryset.subtree(unit) if unit else queryset.none()


class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    """The unit tree. Units are not secret: every signed-in user sees them."""

    lookup_value_regex = r"[0-9]+"
    queryset = Unit.objects.select_related("head").order_by("path")
    serializer_class = UnitSerializer
    filterset_class = UnitFilterSet


class UserFilterSet(FilterSet):
    unit = IdFilter(field_name="unit_id", label="所属单位")
    role = filters.ChoiceFilter(choices=Role.choices, field_name="role_assignments__role", label="角色", distinct=True)
    q = filters.CharFilter(field_name="full_name", lookup_expr="icontains", label="姓名")

    class Meta:
        model = User
        fields = ["unit", "role"]


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """People, for choosing owners and leaders; `me` is the signed-in user."""

    lookup_value_regex = r"[0-9]+"
    queryset = (
        User.objects.filter(is_active=True)
        .select_related("unit")
        .prefetch_related(Prefetch("role_assignments", queryset=RoleAssignment.objects.all()))
        .order_by("id")
    )
    serializer_class = UserSerializer
    filterset_class = UserFilterSet

    @extend_schema(responses=UserSerializer)
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def me(self, request):
        return Response(UserSerializer(request.user, context=self.get_serializer_context()).data)
