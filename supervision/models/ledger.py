"""The ledger itself (督查台账): instructions, items, their responsible units, progress reports,
requests, return visits, referrals and attachments."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Classification
from supervision.choices import (
    OPEN_REQUEST_STATUSES,
    OPEN_STATUSES,
    AssignmentRole,
    InstructionKind,
    InstructionNature,
    ItemStatus,
    Light,
    ReferralDepartment,
    ReferralOutcome,
    ReportingCycle,
    ReportKind,
    RequestKind,
    RequestStatus,
    ReturnVisitResult,
    Urgency,
)
from supervision.querysets import InstructionQuerySet, ItemQuerySet

User = settings.AUTH_USER_MODEL


class Category(models.Model):
    """A ledger category (分门别类): e.g. 重点项目, 生态环保, 民生实事."""

    name = models.CharField(_("名称"), max_length=50, unique=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("事项类别")
        verbose_name_plural = _("事项类别")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Versioned:
    """A record whose `version` moves with every change: its ETag, which a client sends back as
    If-Match so that a stale write is refused (412) instead of overwriting someone else's."""

    @property
    def etag(self) -> str:
        return f'"{self.pk}-{self.version}"'


class Instruction(Versioned, models.Model):
    """A source document (批示件 / 交办件): a leader's instruction, a meeting decision, a task from above…"""

    title = models.CharField(_("标题"), max_length=200)
    kind = models.CharField(_("来源类型"), max_length=32, choices=InstructionKind.choices)
    nature = models.CharField(
        _("批示性质"), max_length=16, choices=InstructionNature.choices, default=InstructionNature.ACTIONABLE
    )
    issuing_leader = models.ForeignKey(
        User, verbose_name=_("批示领导"), null=True, blank=True, on_delete=models.PROTECT, related_name="issued_instructions"
    )
    issuer_name = models.CharField(
        _("批示领导（外部）"), max_length=100, blank=True, help_text=_("上级领导等不在本系统中的批示人")
    )
    document_number = models.CharField(_("文号"), max_length=100, blank=True)
    issued_on = models.DateField(_("批示日期"))
    text = models.TextField(_("批示内容"))
    classification = models.PositiveSmallIntegerField(_("密级"), choices=Classification.choices, default=Classification.PUBLIC)
    created_by = models.ForeignKey(User, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = InstructionQuerySet.as_manager()

    class Meta:
        verbose_name = _("批示件")
        verbose_name_plural = _("批示件")
        ordering = ["-issued_on", "-id"]
        indexes = [models.Index(fields=["kind"]), models.Index(fields=["issued_on"])]

    def __str__(self) -> str:
        return self.title


class Item(Versioned, models.Model):
    """A ledger item (督办事项): one responsible lead unit, a named owner and a deadline."""

    code = models.CharField(_("台账编号"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("事项名称"), max_length=200)
    requirement = models.TextField(_("目标要求"), blank=True)
    category = models.ForeignKey(
        Category, verbose_name=_("类别"), null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )
    instruction = models.ForeignKey(Instruction, verbose_name=_("批示件"), on_delete=models.PROTECT, related_name="items")
    lead_unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("牵头单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="led_items"
    )
    owner = models.ForeignKey(
        User, verbose_name=_("责任人"), null=True, blank=True, on_delete=models.PROTECT, related_name="owned_items"
    )
    deadline = models.DateField(_("办理时限"), null=True, blank=True)
    # 特急 items may be due at a time of day ("需要当天反馈的绝不能过夜").
    deadline_time = models.TimeField(_("当日办结时间"), null=True, blank=True)
    # A limit given as N working days from assignment; the date is fixed when the item is assigned.
    deadline_workdays = models.PositiveSmallIntegerField(_("办理时限（工作日）"), null=True, blank=True)
    original_deadline = models.DateField(_("原定时限"), null=True, blank=True, editable=False)
    # First day of the yellow light, from the thresholds and the working-day calendar (see lights.py).
    warning_date = models.DateField(_("黄灯起始日"), null=True, blank=True, editable=False)
    # When the reminder sweep must next look at this item (reminders.py); indexed for open items only.
    next_reminder_at = models.DateTimeField(_("下次催办时间"), null=True, blank=True, editable=False)
    # 挂牌督办: set when an overdue item has run through every reminder step.
    listed_for_supervision_at = models.DateTimeField(_("挂牌督办时间"), null=True, blank=True, editable=False)
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    reporting_cycle = models.CharField(_("反馈周期"), max_length=16, choices=ReportingCycle.choices, default=ReportingCycle.NONE)
    classification = models.PositiveSmallIntegerField(_("密级"), choices=Classification.choices, default=Classification.PUBLIC)
    status = models.CharField(_("状态"), max_length=20, choices=ItemStatus.choices, default=ItemStatus.DRAFT)
    # Status to return to when a suspension ends.
    status_before_suspension = models.CharField(max_length=20, choices=ItemStatus.choices, blank=True, editable=False)
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0, editable=False)
    reopen_count = models.PositiveSmallIntegerField(_("重新办理次数"), default=0, editable=False)
    # For the stale figure (停滞): the last report of any unit, and how many of the lead unit's latest
    # reports in a row gave the same percent (progress_report_create keeps both).
    last_report_at = models.DateTimeField(_("最近反馈时间"), null=True, blank=True, editable=False)
    progress_streak = models.PositiveSmallIntegerField(_("连续进度不变的反馈次数"), default=0, db_default=0, editable=False)
    assigned_at = models.DateTimeField(_("交办时间"), null=True, blank=True, editable=False)
    # The office's own level (rule 14): the 督查室主任 who approved the item's assignment, and when.
    approved_by = models.ForeignKey(
        User,
        verbose_name=_("审批人（督查室主任）"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    approved_at = models.DateTimeField(_("主任审批时间"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(User, verbose_name=_("立项人"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("立项时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = ItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("督办事项")
        verbose_name_plural = _("督办事项")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "deadline"], name="item_status_deadline"),
            models.Index(fields=["lead_unit", "status"], name="item_lead_status"),
            models.Index(fields=["owner"], name="item_owner"),
            # The reminder sweep reads only this: open items by next due time.
            models.Index(fields=["next_reminder_at"], condition=Q(status__in=OPEN_STATUSES), name="item_open_next_reminder"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="item_progress_le_100"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def light(self) -> str:
        """The warning light (红黄绿灯). Lists annotate it in SQL (ItemQuerySet.with_light); for a
        lone instance the same SQL rule is asked for it, so there is one definition only."""
        if "light" not in self.__dict__:
            self.__dict__["light"] = Item.objects.filter(pk=self.pk).with_light().values_list("light", flat=True).first()
        return self.__dict__["light"]

    @light.setter
    def light(self, value: str) -> None:
        self.__dict__["light"] = value

    @property
    def is_overdue(self) -> bool:
        """Derived, never stored: open and past its (possibly extended) deadline."""
        return self.light == Light.OVERDUE


class ItemAssignment(models.Model):
    """A responsible unit (牵头 or 配合) on an item, with its sign-for-receipt (签收)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("事项"))
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="assignments", verbose_name=_("单位"))
    role = models.CharField(_("责任类型"), max_length=16, choices=AssignmentRole.choices)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, verbose_name=_("签收人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # DOMAIN.md rule 13: no sideways copying; the office may let a supporting unit see all reports.
    may_view_all_reports = models.BooleanField(_("可查看其他单位反馈"), default=False)

    class Meta:
        verbose_name = _("责任单位")
        verbose_name_plural = _("责任单位")
        ordering = ["role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "unit"], name="uniq_item_unit"),
            models.UniqueConstraint(fields=["item"], condition=Q(role=AssignmentRole.LEAD), name="one_lead_per_item"),
        ]
        indexes = [models.Index(fields=["unit", "item"], name="assignment_unit_item")]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.unit_id}:{self.role}"


class ProgressReport(models.Model):
    """进展反馈: what was done, results, problems, next steps, with evidence (DOMAIN.md rule 6, 11)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reports", verbose_name=_("事项"))
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("反馈单位"))
    kind = models.CharField(_("报告类型"), max_length=16, choices=ReportKind.choices, default=ReportKind.STAGE)
    progress_text = models.TextField(_("工作进展"))
    results = models.TextField(_("取得成效"), blank=True)
    problems = models.TextField(_("存在问题"), blank=True)
    next_steps = models.TextField(_("下一步计划"), blank=True)
    progress = models.PositiveSmallIntegerField(_("进度（%）"), null=True, blank=True)
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报人"))
    submitted_at = models.DateTimeField(_("填报时间"), default=timezone.now)

    class Meta:
        verbose_name = _("进展反馈")
        verbose_name_plural = _("进展反馈")
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["item", "submitted_at"], name="report_item_time")]


class ItemRequest(models.Model):
    """A unit's request to the office: extension (延期), completion (办结), suspension, cancellation."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="requests", verbose_name=_("事项"))
    kind = models.CharField(_("申请类型"), max_length=16, choices=RequestKind.choices)
    status = models.CharField(_("审批状态"), max_length=24, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    # The unit that asks (its approver signs first); empty for a request the office files itself.
    unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("申请单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Rule 14: a unit's request reaches the office only once its head (or a named deputy) signed.
    # False for the office's own requests and for requests filed before unit sign-off existed.
    needs_endorsement = models.BooleanField(_("须单位负责人签字"), default=False)
    endorsed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("单位签字人")
    )
    endorsed_at = models.DateTimeField(_("单位签字时间"), null=True, blank=True)
    # The requester is the unit's approver and signed in the same step.
    self_endorsed = models.BooleanField(_("申请人即签字人"), default=False)
    returned_at = models.DateTimeField(_("单位退回时间"), null=True, blank=True)
    endorsement_comment = models.TextField(_("单位签字意见"), blank=True)
    reason = models.TextField(_("申请理由"))
    requested_deadline = models.DateField(_("申请延至"), null=True, blank=True)
    # For an approved extension, the deadline it replaced (the original stays on the item too).
    previous_deadline = models.DateField(_("原时限"), null=True, blank=True)
    outcome = models.TextField(_("办理成效"), blank=True)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("申请人"))
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("审批人")
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_comment = models.TextField(_("审批意见"), blank=True)

    class Meta:
        verbose_name = _("申请")
        verbose_name_plural = _("申请")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request of a kind per item: a second one is a conflict, not a duplicate.
            models.UniqueConstraint(
                fields=["item", "kind"], condition=Q(status__in=OPEN_REQUEST_STATUSES), name="one_open_request_per_kind"
            ),
            # The office never holds (nor decides) a unit's request its approver has not signed.
            models.CheckConstraint(
                condition=~Q(
                    needs_endorsement=True,
                    endorsed_at__isnull=True,
                    status__in=[RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.REJECTED],
                ),
                name="request_endorsed_before_office",
            ),
        ]
        indexes = [models.Index(fields=["unit", "status"], name="request_unit_status")]


class ReturnVisit(models.Model):
    """回访复核: the office re-checks a closed item; a failure reopens it (DOMAIN.md rule 10)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="return_visits", verbose_name=_("事项"))
    result = models.CharField(_("复核结果"), max_length=16, choices=ReturnVisitResult.choices)
    findings = models.TextField(_("复核情况"))
    visited_on = models.DateField(_("复核日期"), default=timezone.localdate)
    visited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("复核人"))
    created_at = models.DateTimeField(default=timezone.now)
    # A failure reopens the item and clears its closed_at; the closure it undid stays here, so the
    # figures still count that closure in its own month (reopening does not erase history).
    reopened_closure_at = models.DateTimeField(_("被撤销的销号时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("回访复核")
        verbose_name_plural = _("回访复核")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["item", "result"], name="return_visit_item_result")]


class Referral(models.Model):
    """移交: an item referred to the discipline or organization department (DOMAIN.md rule 8)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="referrals", verbose_name=_("事项"))
    department = models.CharField(_("移交部门"), max_length=16, choices=ReferralDepartment.choices)
    reason = models.TextField(_("移交理由"))
    referred_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("移交人"))
    referred_at = models.DateTimeField(_("移交时间"), default=timezone.now)
    # The receiving department takes it up (受理), then records what came of it (issue 12).
    acknowledged_at = models.DateTimeField(_("受理时间"), null=True, blank=True, editable=False)
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("受理人"), editable=False
    )
    outcome = models.CharField(_("处理结果"), max_length=16, choices=ReferralOutcome.choices, blank=True, editable=False)
    outcome_text = models.TextField(_("处理情况"), blank=True, editable=False)
    outcome_attachment = models.OneToOneField(
        "supervision.Attachment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referral_outcome",
        verbose_name=_("处理结果附件"),
        editable=False,
    )
    outcome_recorded_at = models.DateTimeField(_("结果登记时间"), null=True, blank=True, editable=False)
    outcome_recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("结果登记人"), editable=False
    )

    class Meta:
        verbose_name = _("移交")
        verbose_name_plural = _("移交")
        ordering = ["-referred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "department"], name="uniq_referral_item_department"),
            # No outcome without acceptance first (受理 before 处理结果).
            models.CheckConstraint(
                condition=Q(outcome="") | Q(acknowledged_at__isnull=False), name="referral_outcome_after_acknowledgement"
            ),
        ]
        indexes = [
            models.Index(fields=["department", "item"], name="referral_department_item"),
            # The 移交线索 list, newest first, a page at a time: without it every referral was joined
            # to its item before the sort (240 ms at 7,000 referrals in a 1M ledger; 2.6 ms with it).
            models.Index(fields=["referred_at", "id"], name="referral_newest_first"),
        ]


def attachment_path(instance: Attachment, filename: str) -> str:
    today = datetime.date.today()
    return f"attachments/{today:%Y/%m}/{instance.sha256[:16]}-{filename}"


class Attachment(models.Model):
    """An uploaded file: instruction scan, report evidence, request evidence. Uploaded first,
    then linked to exactly one record by the service that files that record."""

    file = models.FileField(_("文件"), upload_to=attachment_path)
    original_name = models.CharField(_("文件名"), max_length=255)
    size = models.PositiveBigIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64)
    # The type told from the content at upload (stored_files.EVIDENCE_TYPES), not from the name.
    content_type = models.CharField(_("文件类型"), max_length=16, blank=True, editable=False, help_text=_("按文件内容识别"))
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(default=timezone.now)
    instruction = models.ForeignKey(Instruction, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    report = models.ForeignKey(ProgressReport, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    request = models.ForeignKey(ItemRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["id"]
        constraints = [
            # At most one owner: a file is never shown under two records.
            models.CheckConstraint(
                condition=(
                    Q(instruction__isnull=True, report__isnull=True, request__isnull=True)
                    | Q(instruction__isnull=False, report__isnull=True, request__isnull=True)
                    | Q(instruction__isnull=True, report__isnull=False, request__isnull=True)
                    | Q(instruction__isnull=True, report__isnull=True, request__isnull=False)
                ),
                name="attachment_single_owner",
            ),
        ]

    @property
    def is_linked(self) -> bool:
        """Filed somewhere already: on a record here, or with an overdue explanation (link table)."""
        # The link table is reached through its reverse relation (models/accountability.py).
        explanation_links = self._meta.get_field("explanation_link").related_model
        return bool(
            self.instruction_id
            or self.report_id
            or self.request_id
            or explanation_links.objects.filter(attachment_id=self.pk).exists()
            or Referral.objects.filter(outcome_attachment_id=self.pk).exists()
        )
