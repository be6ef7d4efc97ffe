"""Enumerations of the ledger domain (DOMAIN.md vocabulary)."""

from django.db import models
from django.utils.text import format_lazy
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
    # The office's own level (rule 14): a 督查员's item waits for the 督查室主任 before it goes out.
    AWAITING_APPROVAL = "awaiting_approval", _("待主任审批")
    ASSIGNED = "assigned", _("已交办")
    ACKNOWLEDGED = "acknowledged", _("已签收")
    IN_PROGRESS = "in_progress", _("办理中")
    PENDING_REVIEW = "pending_review", _("待审核")
    CLOSED = "closed", _("已销号")
    VERIFIED = "verified", _("回访通过")
    SUSPENDED = "suspended", _("已暂停")
    CANCELLED = "cancelled", _("已撤销")


ITEM_STATUS_LABELS: dict[str, str] = dict(ItemStatus.choices)

# States in which the responsible units still owe work and the deadline runs.
OPEN_STATUSES = (
    ItemStatus.ASSIGNED,
    ItemStatus.ACKNOWLEDGED,
    ItemStatus.IN_PROGRESS,
    ItemStatus.PENDING_REVIEW,
)
DONE_STATUSES = (ItemStatus.CLOSED, ItemStatus.VERIFIED)
# Statuses that take part in the figures' "due": everything but drafts and items awaiting the
# 督查室主任 (not yet in the ledger) and cancelled ones.
COUNTED_STATUSES = tuple(s for s in ItemStatus if s not in (ItemStatus.DRAFT, ItemStatus.AWAITING_APPROVAL, ItemStatus.CANCELLED))
# Not yet handed to the units: only the office sees these.
BEFORE_ASSIGNMENT_STATUSES = (ItemStatus.DRAFT, ItemStatus.AWAITING_APPROVAL)
# 在办: signed for and being worked on (assigned but not yet signed for is not "in progress").
WORKING_STATUSES = (ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS, ItemStatus.PENDING_REVIEW)
# Where the unit owes reports: an item awaiting the office's review is not the unit's silence.
REPORTING_STATUSES = (ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS)


class Light(models.TextChoices):
    """红黄绿灯. NONE: no running deadline (draft, done, suspended, or no time limit)."""

    NONE = "none", _("无")
    GREEN = "green", _("绿灯")
    YELLOW = "yellow", _("黄灯")
    RED = "red", _("红灯")
    OVERDUE = "overdue", _("超期")


# Labels by value, for pages that show many rows (a TextChoices lookup per row costs more).
LIGHT_LABELS: dict[str, str] = dict(Light.choices)


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
    """A unit's request is signed inside the unit first (rule 14: 签字就是责任), then decided by
    the office: awaiting_endorsement → pending (with the office) → approved / rejected; the unit's
    approver may send it back (returned) instead of signing."""

    AWAITING_ENDORSEMENT = "awaiting_endorsement", _("待单位负责人签字")
    PENDING = "pending", _("待督查室审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已退回")
    RETURNED = "returned", _("单位负责人退回")
    WITHDRAWN = "withdrawn", _("已撤回")


# Requests still open (one per kind and item): with the unit's approver or with the office.
OPEN_REQUEST_STATUSES = (RequestStatus.AWAITING_ENDORSEMENT, RequestStatus.PENDING)


class DeadlineSource(models.TextChoices):
    """Where a deadline in an item's history came from (supervision/models/history.py)."""

    ASSIGNED = "assigned", _("交办")
    EXTENSION = "extension", _("延期")
    RECTIFICATION = "rectification", _("回访整改")
    IMPORTED = "imported", _("导入")
    RECOVERED = "recovered", _("据现有记录补记")


class ReturnVisitResult(models.TextChoices):
    PASSED = "passed", _("复核通过")
    FAILED = "failed", _("复核未通过")


class ReferralDepartment(models.TextChoices):
    DISCIPLINE = "discipline", _("纪检监察机关")
    ORGANIZATION = "organization", _("组织部门")


class ReferralOutcome(models.TextChoices):
    """What the receiving department decided on a referral (移交办理结果, issue 12)."""

    # Accountability (问责): 纪检监察机关 or 组织部门
    TALK_REMINDER = "talk_reminder", _("谈话提醒")
    CRITICISM = "criticism", _("通报批评")
    ADMONITION = "admonition", _("诫勉")
    ORGANIZATIONAL = "organizational", _("组织处理")
    DISCIPLINARY = "disciplinary", _("党纪政务处分")
    NO_ACTION = "no_action", _("不予处理")
    # Commendation (善抓好的典型): 组织部门
    PRAISE = "praise", _("表扬")
    RECOMMENDATION = "recommendation", _("推荐")


ACCOUNTABILITY_OUTCOMES = (
    ReferralOutcome.TALK_REMINDER,
    ReferralOutcome.CRITICISM,
    ReferralOutcome.ADMONITION,
    ReferralOutcome.ORGANIZATIONAL,
    ReferralOutcome.DISCIPLINARY,
    ReferralOutcome.NO_ACTION,
)
COMMENDATION_OUTCOMES = (ReferralOutcome.PRAISE, ReferralOutcome.RECOMMENDATION)


# Overdue explanations, rulings and notices (DOMAIN.md rules 7, 8, 9).
class ExplanationStatus(models.TextChoices):
    AWAITING = "awaiting", _("待说明")
    # Filed by the unit, waiting for its approver's signature before it reaches the office.
    AWAITING_ENDORSEMENT = "awaiting_endorsement", _("待单位负责人签字")
    SUBMITTED = "submitted", _("已报督查室")
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
    SHEET = "sheet", _("督办通知单编号")  # 督办〔2026〕1号


# The audit trail's action codes in Chinese (the history, the API's `action_label`, the admin).
# One mapping for every action any service records; tests/supervision/test_labels.py checks that
# each code written anywhere in the source has its label here.
_REQUEST_STEPS = {
    "requested": _("提出"),
    "endorsed": _("单位负责人签字"),
    "returned_by_unit": _("单位负责人退回"),
    "approved": _("督查室批准"),
    "rejected": _("督查室退回"),
    "withdrawn": _("撤回"),
}
ACTION_LABELS: dict[str, str] = {
    # items and instructions
    "instruction_created": _("登记批示件"),
    "instruction_updated": _("修改批示件"),
    "instruction_imported": _("导入批示件"),
    "instruction_intake": _("OA 推送批示件"),
    "item_created": _("分解立项"),
    "item_updated": _("修改事项"),
    "item_imported": _("导入事项"),
    "item_submitted_for_approval": _("提请督查室主任审批交办"),
    "item_approved": _("督查室主任批准交办"),
    "item_approval_returned": _("督查室主任退回"),
    "item_assigned": _("交办"),
    "item_acknowledged": _("签收"),
    "report_filed": _("反馈进展"),
    "report_access_changed": _("调整反馈查看权限"),
    "item_resumed": _("恢复办理"),
    "item_listed_for_supervision": _("挂牌督办"),
    "item_referred": _("移交"),
    "return_visit_passed": _("回访复核通过"),
    "return_visit_failed": _("回访复核未通过，重新办理"),
    "attachment_uploaded": _("上传附件"),
    "leader_comment_added": _("领导批示点评"),
    "referral_acknowledged": _("受理移交"),
    "referral_outcome_recorded": _("记录移交处理结果"),
    "assignment_sheet_issued": _("印发督办通知单"),
    # a unit's requests: 延期申请提出, 办结申请单位负责人签字 …
    **{
        f"{kind.value}_{step}": format_lazy("{kind}：{step}", kind=kind.label, step=step_label)
        for kind in RequestKind
        for step, step_label in _REQUEST_STEPS.items()
    },
    # overdue explanations and notices
    "overdue_explanation_opened": _("要求作出超期说明"),
    "overdue_explanation_submitted": _("提交超期说明"),
    "overdue_explanation_endorsed": _("超期说明：单位负责人签字"),
    "overdue_explanation_returned_by_unit": _("超期说明：单位负责人退回"),
    "overdue_explanation_exemption": _("认定免责"),
    "overdue_explanation_accountability": _("认定问责"),
    "notice_created": _("起草通报"),
    "notice_updated": _("修改通报"),
    "notice_issued": _("印发通报"),
    # exchange
    "ledger_exported": _("导出台账"),
    "ledger_export_queued": _("申请导出台账"),
    "ledger_import_queued": _("导入台账"),
    "quarterly_review_exported": _("导出季度盘点"),
    "export_approval_granted": _("批准涉密导出"),
    "export_approval_revoked": _("撤销涉密导出审批"),
    # rules, calendar, people and machines
    "warning_threshold_saved": _("修改红黄绿灯阈值"),
    "office_settings_changed": _("修改督查室设置"),
    "unit_approver_saved": _("指定单位签字人"),
    "unit_approver_removed": _("取消单位签字人"),
    "reminder_policy_saved": _("修改催办规则"),
    "reminder_policy_deleted": _("删除催办规则"),
    "calendar_day_set": _("设置节假日或调休"),
    "calendar_day_delete": _("删除节假日或调休"),
    "integration_client_create": _("新增对接系统"),
    "integration_client_update": _("修改对接系统"),
    "integration_client_rotate_key": _("更换对接系统密钥"),
    "integration_client_whole_ledger_granted": _("授予对接系统全台账读取权限"),
    "integration_client_whole_ledger_withdrawn": _("收回对接系统全台账读取权限"),
    "webhook_subscription_created": _("新增事件订阅"),
    "webhook_subscription_updated": _("修改事件订阅"),
    "webhook_secret_rotated": _("更换事件订阅密钥"),
    "webhook_delivery_replayed": _("重新推送事件"),
    "delivery_resent": _("重新发送消息"),
    "signin_locked_out": _("登录失败次数过多，已锁定"),
    "signin_unlocked": _("解除登录锁定"),
    "signin_tokens_revoked": _("注销登录令牌"),
    # 减负: duplicates, linked items, inspection activities, messages
    "duplicate_suspected": _("疑似重复"),
    "duplicate_confirmed": _("确认重复"),
    "duplicate_dismissed": _("确认不是重复"),
    "duplicate_dismissed_at_registration": _("登记时确认不是重复"),
    "item_linked": _("并入主办事项（合并督办）"),
    "item_linked_as_lead": _("作为主办事项合并督办"),
    "item_unlinked": _("取消合并督办"),
    "item_unlinked_from_lead": _("主办事项取消合并"),
    "activity_created": _("登记督查活动"),
    "activity_updated": _("修改督查活动"),
    "figure_rules_saved": _("修改统计口径参数"),
    "chat_channel_saved": _("设置企业微信/钉钉渠道"),
    "messaging_setting_changed": _("修改消息设置"),
    "notification_preferences_changed": _("修改消息接收方式"),
    "digest_resent": _("重新发送每日汇总"),
}


def action_label(code: str) -> str:
    """The Chinese name of an audit action; an unknown code is shown as it is, never hidden."""
    return str(ACTION_LABELS.get(code, code))


# Statuses an audit event may move between (from_status / to_status), for their labels.
TRANSITION_STATUS_LABELS: dict[str, str] = {**dict(NoticeStatus.choices), **ITEM_STATUS_LABELS}


# Duplicate matters and burden (DOMAIN.md rule 12, 减负).
class SuspicionStatus(models.TextChoices):
    PENDING = "pending", _("待确认")
    CONFIRMED = "confirmed", _("确认重复")
    DISMISSED = "dismissed", _("不是重复")


class SuspicionSource(models.TextChoices):
    REGISTRATION = "registration", _("登记")
    INTAKE = "intake", _("OA 推送")
    IMPORT = "import", _("Excel 导入")


class ActivityKind(models.TextChoices):
    """统筹督查: the kinds of inspection visits a unit receives."""

    FIELD = "field", _("实地督查")
    UNANNOUNCED = "unannounced", _("暗访暗查")
    JOINT = "joint", _("联合督查")


class BurdenMetric(models.TextChoices):
    """What the 减负 panel counts per unit per week."""

    MESSAGES = "messages", _("收到消息")
    REMINDERS = "reminders", _("催办")
    REPORTS_ASKED = "reports_asked", _("要求报送")
    REPORTS_FILED = "reports_filed", _("报送反馈")
    ITEMS_PER_MATTER = "items_per_matter", _("同一事项的督办件数")
    VISITS = "visits", _("督查活动")
