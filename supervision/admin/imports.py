"""Admin for Excel ledger imports (台账导入): upload a workbook (or only check it), then watch the
job's progress, errors and summary. The upload goes through `import_job_create`, like the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from supervision.choices import ImportJobStatus
from supervision.errors import InvalidInput
from supervision.exchange.importer import import_job_create, validate_upload
from supervision.models import ImportJob

# The admin shows the first errors; the API and the .xlsx error report carry all of them.
ERRORS_SHOWN = 300


class ImportJobUploadForm(forms.ModelForm):
    class Meta:
        model = ImportJob
        fields = ("file", "dry_run")
        labels = {"file": _("台账文件（.xlsx）")}

    def clean_file(self):
        uploaded = self.cleaned_data.get("file")
        try:
            validate_upload(uploaded)
        except InvalidInput as exc:
            raise forms.ValidationError([str(m) for values in exc.fields.values() for m in values]) from None
        return uploaded


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Office staff upload here; the import runs in the background (Celery). View-only afterwards."""

    list_display = ("id", "original_name", "dry_run", "status", "progress_display", "created_by", "created_at", "finished_at")
    list_filter = ("status", "dry_run")
    readonly_fields = (
        "original_name",
        "size",
        "sha256",
        "dry_run",
        "status",
        "progress_display",
        "summary_display",
        "errors_display",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    )

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("created_by")
        # An uploaded ledger may hold classified rows: each sees their own uploads; superusers all.
        return qs if request.user.is_superuser else qs.filter(created_by=request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ImportJobUploadForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ("file", "dry_run") if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff and request.user.is_office

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        job = import_job_create(actor=request.user, uploaded_file=form.cleaned_data["file"], dry_run=form.cleaned_data["dry_run"])
        obj.pk = job.pk
        obj.file = job.file
        obj.created_by_id = job.created_by_id

    def response_add(self, request, obj, post_url_continue=None):
        # Straight to the job's page, which shows its progress.
        return HttpResponseRedirect(reverse("admin:supervision_importjob_change", args=[obj.pk]))

    @admin.display(description=_("进度"))
    def progress_display(self, job: ImportJob) -> str:
        text = format_html(
            "{}：{}% （已校验 {} / 已写入 {} / 共 {} 行）",
            job.get_phase_display(),
            job.percent,
            job.rows_validated,
            job.rows_written,
            job.rows_total,
        )
        if job.status in (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING):
            # Reload while the job runs, so the page follows its progress.
            return format_html('{} <meta http-equiv="refresh" content="3">（{}）', text, _("每 3 秒自动刷新"))
        return text

    @admin.display(description=_("错误报告"))
    def errors_display(self, job: ImportJob) -> str:
        if not job.errors:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.get("row") or _("文件"), e.get("column") or "", e.get("message")) for e in job.errors[:ERRORS_SHOWN]),
        )
        more = (
            format_html("<p>{}</p>", _("另有 %(n)s 条错误，请下载完整错误报告。") % {"n": len(job.errors) - ERRORS_SHOWN})
            if len(job.errors) > ERRORS_SHOWN
            else ""
        )
        link = reverse("import-error-report", args=[job.pk])
        return format_html(
            '<p>{} <a href="{}">{}</a></p><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>{}',
            _("共 %(n)s 条错误，台账未作任何改动。") % {"n": len(job.errors)},
            link,
            _("下载错误报告（.xlsx）"),
            _("行"),
            _("列"),
            _("问题"),
            rows,
            more,
        )

    @admin.display(description=_("导入结果"))
    def summary_display(self, job: ImportJob) -> str:
        s = job.summary or {}
        if not s:
            return "—"
        verb = _("将创建") if job.dry_run else _("已创建")
        parts = [
            format_html(
                "<p>{} {} 个事项；批示件新建 {} 个、沿用 {} 个；进展反馈 {} 条；跳过（已导入）{} 行。</p>",
                verb,
                s.get("items", 0),
                s.get("instructions_new", 0),
                s.get("instructions_reused", 0),
                s.get("reports", 0),
                len(s.get("skipped", [])),
            )
        ]
        for title, counts in ((_("按状态"), s.get("by_status", {})), (_("按牵头单位"), s.get("by_lead_unit", {}))):
            if counts:
                parts.append(format_html("<p>{}：{}</p>", title, "；".join(f"{k} {v}" for k, v in counts.items())))
        if s.get("codes"):
            parts.append(format_html("<p>{}：{} — {}</p>", _("台账编号"), *s["codes"]))
        return format_html_join("", "{}", ((p,) for p in parts))
