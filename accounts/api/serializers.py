from rest_framework import serializers

from accounts.models import Unit, User


class UnitBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "name"]


class UnitSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    head = serializers.SerializerMethodField()

    class Meta:
        model = Unit
        fields = ["id", "name", "short_name", "kind", "kind_display", "parent", "head", "path", "is_active"]

    def get_head(self, unit) -> dict | None:
        return {"id": unit.head_id, "name": str(unit.head)} if unit.head_id else None


class UserBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name"]


class UserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)
    unit = UnitBriefSerializer(read_only=True)
    roles = serializers.SerializerMethodField()
    clearance_display = serializers.CharField(source="get_clearance_display", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "title", "unit", "roles", "clearance", "clearance_display"]

    def get_roles(self, user) -> list[str]:
        return sorted(user.role_codes)
