"""Enumerations of the ledger domain (DOMAIN.md vocabulary)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import Classification


class InstructionKind(models.TextChoices):
    """Where an instruction comes from (DOMAIN.md rule 3, 16)."""

    LEADER_INSTRUCTION = "leader_instruction", _("领导批示")
    MEETING_DECISION = "meeting_decision", _("会议议定事项")
    ASSIGNED_FROM_ABOVE = "assigned_from_above", _("上级交办")
    INSPECTION_FINDING = "inspection_finding", _("督查发现问题")
    PUBLIC_REPORT = "public_report", _("群众、媒体、网络舆情反映")
    DEPUTIES_SUGGESTION = "deputies_suggestion", _("人大建议、政协提案")


class InstructionNature(models.TextChoices):
    """批办性 / 指导性 need a deadline-bound item; 参阅性 do not (DOMAIN.md rule 2)."""

    ACTIONABLE = "actionable", _("批办性")
    DIRECTIVE = "directive", _("指导性")
    REFERENCE = "reference", _("参阅性")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("急")
    EXTRA_URGENT = "extra_urgent", _("特急")


class ReportingCycle(models.TextChoices):
    NONE = "none", _("不定期")
    WEEKLY = "weekly", _("每周")
    BIWEEKLY = "biweekly", _("每两周")
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")


class ItemStatus(models.TextChoices):
    """The item's lifecycle. Overdue is not a state: it is derived from the deadline."""

    DRAFT = "draft", _("草稿")
    ASSIGNED = "assigned", _("已交办")
    ACKNOWLEDGED = "acknowledged", _("已签收")
    IN_PROGRESS = "in_progress", _("办理中")
    PENDING_REVIEW = "pending_review", _("待审核")
    CLOSED = "closed", _("已销号")
    VERIFIED = "verified", _("回访通过")
    SUSPENDED = "suspended", _("已暂停")
    CANCELLED = "cancelled", _("已撤销")


# States in which the responsible units still owe work and the deadline runs.
OPEN_STATUSES = (
    ItemStatus.ASSIGNED,
    ItemStatus.ACKNOWLEDGED,
    ItemStatus.IN_PROGRESS,
    ItemStatus.PENDING_REVIEW,
)
DONE_STATUSES = (ItemStatus.CLOSED, ItemStatus.VERIFIED)


class Light(models.TextChoices):
    """红黄绿灯. NONE: no running deadline (draft, done, suspended, or no time limit)."""

    NONE = "none", _("无")
    GREEN = "green", _("绿灯")
    YELLOW = "yellow", _("黄灯")
    RED = "red", _("红灯")
    OVERDUE = "overdue", _("超期")


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("牵头单位")
    SUPPORTING = "supporting", _("配合单位")


class ReportKind(models.TextChoices):
    """阶段性报告、专题性报告、综合性报告 (DOMAIN.md rule 6)."""

    STAGE = "stage", _("阶段性报告")
    THEMATIC = "thematic", _("专题性报告")
    OVERALL = "overall", _("综合性报告")


class RequestKind(models.TextChoices):
    EXTENSION = "extension", _("延期申请")
    COMPLETION = "completion", _("办结申请")
    SUSPENSION = "suspension", _("暂停申请")
    CANCELLATION = "cancellation", _("撤销申请")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已退回")
    WITHDRAWN = "withdrawn", _("已撤回")


class ReturnVisitResult(models.TextChoices):
    PASSED = "passed", _("复核通过")
    FAILED = "failed", _("复核未通过")


class ReferralDepartment(models.TextChoices):
    DISCIPLINE = "discipline", _("纪检监察机关")
    ORGANIZATION = "organization", _("组织部门")


# Overdue explanations, rulings and notices (DOMAIN.md rules 7, 8, 9).
class ExplanationStatus(models.TextChoices):
    AWAITING = "awaiting", _("待说明")
    SUBMITTED = "submitted", _("已说明")
    RULED = "ruled", _("已认定")


class ReasonKind(models.TextChoices):
    """The unit's own account of why the deadline was missed; the office decides what follows."""

    OBJECTIVE = "objective", _("客观原因")
    SUBJECTIVE = "subjective", _("主观原因")


class Ruling(models.TextChoices):
    EXEMPTION = "exemption", _("免责")
    ACCOUNTABILITY = "accountability", _("问责")


class NoticeKind(models.TextChoices):
    CRITICISM = "criticism", _("批评通报")
    PRAISE = "praise", _("表扬通报")
    REMINDER = "reminder", _("提醒")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ISSUED = "issued", _("已印发")


# The working-day calendar.
class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("法定节假日")
    MAKEUP_WORKDAY = "makeup_workday", _("调休上班日")


class CalendarDaySource(models.TextChoices):
    CHINESE_CALENDAR = "chinese_calendar", _("chinese-calendar 数据包")
    ANNOUNCEMENT = "announcement", _("国务院办公厅通知")
    MANUAL = "manual", _("手工录入")


# Ledger exchange: export approvals and jobs, import jobs.
# Only classified levels need an approval: 公开 and 内部 items are exported without one.
APPROVABLE_CLASSIFICATIONS = (Classification.SECRET, Classification.CONFIDENTIAL)
APPROVABLE_CHOICES = [(c.value, c.label) for c in APPROVABLE_CLASSIFICATIONS]


class ExportJobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("导出中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("导入中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("未通过")


class ImportPhase(models.TextChoices):
    """What the job is doing now, for the progress display."""

    WAITING = "waiting", _("等待开始")
    READING = "reading", _("读取文件")
    VALIDATING = "validating", _("逐行校验")
    WRITING = "writing", _("写入台账")
    DONE = "done", _("结束")


class CounterSeries(models.TextChoices):
    """Numbers the office issues, each counted per year (YearlyCounter)."""

    LEDGER = "ledger", _("台账编号")  # DB-2026-0001
    NOTICE = "notice", _("通报编号")  # 督通〔2026〕1号
