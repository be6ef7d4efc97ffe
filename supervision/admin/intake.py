"""OA 推送记录 in the admin: read-only. The records are written only by the intake service
(supervision/intake.py); an office needs to see which OA system pushed which instruction."""

from django.contrib import admin
from django.db.models import Q

from supervision.models import Instruction, IntakeItem, IntakeRecord
from supervision.querysets import among, item_absent_or_visible


class IntakeItemInline(admin.TabularInline):
    model = IntakeItem
    fields = ("position", "external_id", "item")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(item_absent_or_visible(request.user))

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(IntakeRecord)
class IntakeRecordAdmin(admin.ModelAdmin):
    list_display = ("external_id", "client", "actor", "instruction", "created_at")
    list_filter = ("client",)
    search_fields = ("external_id", "instruction__title", "instruction__document_number")
    list_select_related = ("client", "actor", "instruction")
    readonly_fields = ("external_id", "client", "actor", "instruction", "body_digest", "created_at")
    fields = readonly_fields
    inlines = (IntakeItemInline,)

    def get_queryset(self, request):
        # A record names its instruction (title, document number): only within the user's clearance.
        visible = Instruction.objects.visible_to(request.user)
        return super().get_queryset(request).filter(Q(instruction__isnull=True) | Q(among(visible, "instruction")))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
