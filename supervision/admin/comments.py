"""Leader comments (领导批示 / 点评) in the back office: read-only; written through the API."""

from django.contrib import admin

from supervision.admin.base import ReadOnlyAdminMixin
from supervision.models import LeaderComment


@admin.register(LeaderComment)
class LeaderCommentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "author", "item", "instruction", "text")
    list_select_related = ("author", "item", "instruction")
    search_fields = ("text", "item__code", "instruction__title")
    date_hierarchy = "created_at"
