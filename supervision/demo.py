"""Demo data: a fictional county (云溪县) with its unit tree, people in every role, and a ledger with
items in every status — all written through `supervision.services`, so the audit chain is real.

`load_demo()` runs in one transaction and does nothing if the demo is already loaded (the marker is
the user `duchashi`). Every account's password is DEMO_PASSWORD.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field

import docx
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.choices import Classification, Role, UnitKind
from accounts.models import RoleAssignment, Unit, User
from supervision import services
from supervision.choices import (
    OPEN_STATUSES,
    InstructionKind,
    InstructionNature,
    ItemStatus,
    ReferralDepartment,
    ReferralOutcome,
    ReportingCycle,
    ReportKind,
    RequestKind,
    RequestStatus,
    ReturnVisitResult,
    SuspicionSource,
    Urgency,
)
from supervision.models import (
    AuditEvent,
    Category,
    DeadlineSpan,
    Instruction,
    Item,
    ItemAssignment,
    ItemRequest,
    OfficeSettings,
    Referral,
)
from supervision.reminders import reminders_reschedule_open
from supervision.services.deadlines import deadline_history_recover
from supervision.warning_dates import warning_dates_refresh

DEMO_PASSWORD = "duban2026"
MARKER_USERNAME = "duchashi"

PUBLIC, INTERNAL, SECRET, CONFIDENTIAL = (
    Classification.PUBLIC,
    Classification.INTERNAL,
    Classification.SECRET,
    Classification.CONFIDENTIAL,
)

# (key, name, short name, kind, parent key)
UNITS = [
    ("root", "中共云溪县委", "县委", UnitKind.LEADERSHIP, None),
    ("xwb", "县委办公室", "县委办", UnitKind.PARTY_OFFICE, "root"),
    ("dcs", "县委督查室", "督查室", UnitKind.SUPERVISION_OFFICE, "xwb"),
    ("jw", "县纪委监委", "纪委监委", UnitKind.DISCIPLINE, "root"),
    ("zzb", "县委组织部", "组织部", UnitKind.ORGANIZATION, "root"),
    ("zf", "云溪县人民政府", "县政府", UnitKind.LEADERSHIP, "root"),
    ("zfb", "县政府办公室", "县政府办", UnitKind.DEPARTMENT, "zf"),
    ("fgw", "县发展和改革委员会", "县发改委", UnitKind.DEPARTMENT, "zf"),
    ("jyj", "县教育局", "教育局", UnitKind.DEPARTMENT, "zf"),
    ("sthj", "县生态环境局", "生态环境局", UnitKind.DEPARTMENT, "zf"),
    ("zjj", "县住房和城乡建设局", "县住建局", UnitKind.DEPARTMENT, "zf"),
    ("jtj", "县交通运输局", "交通运输局", UnitKind.DEPARTMENT, "zf"),
    ("yjj", "县应急管理局", "应急管理局", UnitKind.DEPARTMENT, "zf"),
    ("nyj", "县农业农村局", "农业农村局", UnitKind.DEPARTMENT, "zf"),
    ("scj", "县市场监督管理局", "市场监管局", UnitKind.DEPARTMENT, "zf"),
    ("hzx", "黄庄乡", "黄庄乡", UnitKind.TOWNSHIP, "root"),
    ("zfz", "纸房镇", "纸房镇", UnitKind.TOWNSHIP, "root"),
    ("dgjd", "东关街道", "东关街道", UnitKind.TOWNSHIP, "root"),
]

# (username, full name, unit key, title, roles, clearance, heads unit?)
USERS = [
    ("admin", "系统管理员", "dcs", "系统管理员", [Role.ADMINISTRATOR], CONFIDENTIAL, False),
    ("duchashi", "王敏", "dcs", "督查专员", [Role.OFFICE_STAFF], CONFIDENTIAL, False),
    ("liuyang", "刘洋", "dcs", "督查室科员", [Role.OFFICE_STAFF], INTERNAL, False),
    ("zhaozhigang", "赵志刚", "dcs", "督查室主任", [Role.OFFICE_STAFF, Role.OFFICE_DIRECTOR], CONFIDENTIAL, True),
    ("chenming", "陈明", "xwb", "县委常委、办公室主任", [Role.LEADER], CONFIDENTIAL, True),
    ("shuji", "张建国", "root", "县委书记", [Role.LEADER], CONFIDENTIAL, True),
    ("xianzhang", "杨光", "zf", "县委副书记、县长", [Role.LEADER], CONFIDENTIAL, True),
    ("fuxianzhang", "李卫东", "zf", "副县长（分管城建、生态环保）", [Role.LEADER], SECRET, False),
    ("jijian", "郑华", "jw", "县纪委副书记、监委副主任", [Role.DISCIPLINE], SECRET, True),
    ("zuzhibu", "吴芳", "zzb", "县委组织部副部长", [Role.ORGANIZATION], SECRET, True),
    # Departments and townships: a head (单位负责人, 秘密) and a handler (承办人, 内部).
    ("zhoujun", "周军", "zfb", "县政府办公室主任", [Role.UNIT_HEAD], SECRET, True),
    ("hexia", "何霞", "zfb", "督查科科长", [Role.UNIT_HANDLER], INTERNAL, False),
    ("zhouqiang", "周强", "fgw", "县发改委主任", [Role.UNIT_HEAD], SECRET, True),
    ("sunli", "孙丽", "fgw", "项目科科长", [Role.UNIT_HANDLER], INTERNAL, False),
    ("majing", "马静", "jyj", "县教育局局长", [Role.UNIT_HEAD], SECRET, True),
    ("gaopeng", "高鹏", "jyj", "办公室主任", [Role.UNIT_HANDLER], INTERNAL, False),
    ("linhai", "林海", "sthj", "县生态环境局局长", [Role.UNIT_HEAD], SECRET, True),
    ("xuting", "徐婷", "sthj", "环境执法大队队长", [Role.UNIT_HANDLER], INTERNAL, False),
    ("huangtao", "黄涛", "zjj", "县住建局局长", [Role.UNIT_HEAD], SECRET, True),
    ("luoyan", "罗艳", "zjj", "城建股股长", [Role.UNIT_HANDLER], INTERNAL, False),
    ("hugang", "胡刚", "jtj", "县交通运输局局长", [Role.UNIT_HEAD], SECRET, True),
    ("liangyu", "梁宇", "jtj", "规划建设股股长", [Role.UNIT_HANDLER], INTERNAL, False),
    ("songwei", "宋伟", "yjj", "县应急管理局局长", [Role.UNIT_HEAD], SECRET, True),
    ("tangli", "唐丽", "yjj", "安全生产综合协调股股长", [Role.UNIT_HANDLER], INTERNAL, False),
    ("fengjun", "冯俊", "nyj", "县农业农村局局长", [Role.UNIT_HEAD], SECRET, True),
    ("caixue", "蔡雪", "nyj", "乡村振兴股股长", [Role.UNIT_HANDLER], INTERNAL, False),
    ("dengbin", "邓斌", "scj", "县市场监管局局长", [Role.UNIT_HEAD], SECRET, True),
    ("xiena", "谢娜", "scj", "登记注册股股长", [Role.UNIT_HANDLER], INTERNAL, False),
    ("hanlei", "韩磊", "hzx", "黄庄乡党委书记", [Role.UNIT_HEAD], SECRET, True),
    ("caoyun", "曹云", "hzx", "党政办主任", [Role.UNIT_HANDLER], INTERNAL, False),
    ("pengfei", "彭飞", "zfz", "纸房镇党委书记", [Role.UNIT_HEAD], SECRET, True),
    ("zengli", "曾丽", "zfz", "党政办主任", [Role.UNIT_HANDLER], INTERNAL, False),
    ("xiaoming", "肖明", "dgjd", "东关街道党工委书记", [Role.UNIT_HEAD], SECRET, True),
    ("tianjing", "田静", "dgjd", "党政办主任", [Role.UNIT_HANDLER], INTERNAL, False),
]

CATEGORIES = ["重点项目", "生态环保", "民生实事", "安全生产", "营商环境", "乡村振兴", "城市建设", "教育医疗"]


@dataclass
class InstructionSpec:
    key: str
    title: str
    kind: str
    nature: str
    leader: str | None  # username, or None for an external issuer
    days_ago: int
    text: str
    classification: int = PUBLIC
    issuer_name: str = ""
    document_number: str = ""


# fmt: off
INSTRUCTIONS = [
    InstructionSpec("i01", "关于加快县城污水处理厂提标改造的批示", InstructionKind.LEADER_INSTRUCTION, InstructionNature.ACTIONABLE, "shuji", 120,
                    "污水处理厂提标改造事关群众切身利益，请县住建局牵头、生态环境局配合，倒排工期，年底前必须完成，每月报进展。", document_number="云委督〔2026〕12号"),
    InstructionSpec("i02", "县委常委会（第23次）议定事项", InstructionKind.MEETING_DECISION, InstructionNature.ACTIONABLE, "shuji", 95,
                    "会议议定：一、推进工业园区标准厂房建设；二、整治城区背街小巷；三、完善农村饮水安全工程。各责任单位按时限落实。", document_number="云委常纪〔2026〕23号"),
    InstructionSpec("i03", "市委交办：中央生态环境保护督察反馈问题整改", InstructionKind.ASSIGNED_FROM_ABOVE, InstructionNature.ACTIONABLE, None, 140,
                    "对督察反馈的河道非法采砂、畜禽养殖污染等问题，逐项建立整改台账，明确责任人和整改时限，按期销号。",
                    issuer_name="市委督查室", document_number="市委督交〔2026〕31号"),
    InstructionSpec("i04", "暗访发现：部分乡镇便民服务中心“空岗”问题", InstructionKind.INSPECTION_FINDING, InstructionNature.ACTIONABLE, "chenming", 60,
                    "暗访发现黄庄乡、东关街道便民服务中心工作时间窗口无人，请立即整改并举一反三。"),
    InstructionSpec("i05", "网络舆情：纸房镇中学周边交通拥堵、学生上下学安全隐患", InstructionKind.PUBLIC_REPORT, InstructionNature.ACTIONABLE, "xianzhang", 45,
                    "网民反映纸房镇中学门口上下学时段交通拥堵，存在安全隐患。请交通运输局、教育局会同纸房镇三日内拿出方案。"),
    InstructionSpec("i06", "县人大代表建议：改善东关街道老旧小区雨污分流", InstructionKind.DEPUTIES_SUGGESTION, InstructionNature.DIRECTIVE, "fuxianzhang", 80,
                    "请县住建局认真研究代表建议，结合老旧小区改造统筹推进，及时向代表反馈办理情况。", document_number="云人大建〔2026〕7号"),
    InstructionSpec("i07", "关于全县安全生产大检查的批示", InstructionKind.LEADER_INSTRUCTION, InstructionNature.ACTIONABLE, "xianzhang", 70,
                    "岁末年初是事故易发期，请应急管理局牵头开展安全生产大检查，重点排查燃气、消防、道路交通，发现隐患立即整改。"),
    InstructionSpec("i08", "关于优化营商环境“一网通办”的批示", InstructionKind.LEADER_INSTRUCTION, InstructionNature.DIRECTIVE, "shuji", 100,
                    "企业开办要压缩到一个工作日内，请市场监管局牵头、县政府办配合，梳理流程，形成长效机制。"),
    InstructionSpec("i09", "关于乡村振兴示范村建设的批示", InstructionKind.LEADER_INSTRUCTION, InstructionNature.ACTIONABLE, "shuji", 110,
                    "黄庄乡、纸房镇各打造一个乡村振兴示范村，农业农村局统筹，年内见到实效，不搞形式主义。"),
    InstructionSpec("i10", "省委巡视反馈意见整改（涉及干部作风）", InstructionKind.ASSIGNED_FROM_ABOVE, InstructionNature.ACTIONABLE, None, 90,
                    "对巡视反馈的部分干部不作为、慢作为问题线索，逐一核查整改，整改情况按要求报送。", classification=SECRET,
                    issuer_name="省委巡视组", document_number="省委巡反〔2026〕5号"),
    InstructionSpec("i11", "县委全面深化改革委员会会议议定事项", InstructionKind.MEETING_DECISION, InstructionNature.DIRECTIVE, "shuji", 75,
                    "会议要求：深化县属国有企业改革，推进教育集团化办学，完善基层治理网格化。", classification=INTERNAL,
                    document_number="云改委〔2026〕3号"),
    InstructionSpec("i12", "转发《关于进一步为基层减负的通知》", InstructionKind.ASSIGNED_FROM_ABOVE, InstructionNature.REFERENCE, None, 50,
                    "请各单位认真学习，对照检查“多头督查、重复督查”问题，重要情况及时报告。", issuer_name="市委办公室"),
    InstructionSpec("i13", "联合督查发现：建筑工地扬尘治理不到位", InstructionKind.INSPECTION_FINDING, InstructionNature.ACTIONABLE, "fuxianzhang", 40,
                    "县委督查室会同生态环境局联合督查，发现城区3处工地未落实“六个百分之百”，请限期整改。"),
    InstructionSpec("i14", "群众来信：黄庄乡村道破损严重", InstructionKind.PUBLIC_REPORT, InstructionNature.ACTIONABLE, "fuxianzhang", 30,
                    "群众来信反映黄庄乡至县城村道破损，雨天无法通行，请交通运输局会同黄庄乡尽快修复。"),
    InstructionSpec("i15", "关于重点项目“百日攻坚”行动的批示", InstructionKind.LEADER_INSTRUCTION, InstructionNature.ACTIONABLE, "xianzhang", 130,
                    "全县12个重点项目实行挂图作战，发改委每周调度，未按节点推进的要说明理由。", classification=INTERNAL),
    InstructionSpec("i16", "政协提案：加强县域义务教育优质均衡发展", InstructionKind.DEPUTIES_SUGGESTION, InstructionNature.DIRECTIVE, "chenming", 85,
                    "请教育局研究办理，明确阶段目标，及时答复提案人。", document_number="云政协提〔2026〕15号"),
    InstructionSpec("i17", "关于某企业违规排污问题线索的批示", InstructionKind.LEADER_INSTRUCTION, InstructionNature.ACTIONABLE, "shuji", 35,
                    "此事影响恶劣，请生态环境局依法查处，县纪委监委同步介入，核查是否存在失职失责问题。", classification=SECRET),
    InstructionSpec("i18", "县政府第15次常务会议议定事项", InstructionKind.MEETING_DECISION, InstructionNature.ACTIONABLE, "xianzhang", 55,
                    "会议议定：冬季供暖保障、农村公路养护、校园食品安全专项整治，由相关单位按时限落实。"),
    InstructionSpec("i19", "关于防汛工作总结的参阅件", InstructionKind.LEADER_INSTRUCTION, InstructionNature.REFERENCE, "xianzhang", 25,
                    "请各乡镇参阅，结合实际完善防汛预案，重要情况及时报告。"),
    InstructionSpec("i20", "媒体报道：东关街道农贸市场环境脏乱", InstructionKind.PUBLIC_REPORT, InstructionNature.ACTIONABLE, "chenming", 20,
                    "请东关街道会同市场监管局立即整治，一周内反馈整改结果。"),
]

# One ledger item.
# target: the status the item ends in. flags:
#   partial   — assigned, a supporting unit has signed but the lead unit has not
#   ext       — an extension was approved;  ext_pending / ext_rejected — requested, pending / sent back
#   sent_back — a completion request was sent back once before
#   reopened  — closed, then a return visit failed and reopened it
#   overdue   — (demo back-dating) the deadline is moved into the past after the workflow ran
#   refer_jw / refer_zzb — referred to the discipline / organization department
#   by_office — the office (not the unit) asked for the suspension / cancellation


@dataclass
class ItemSpec:
    instruction: str
    title: str
    lead: str
    target: str
    category: str
    days: int | None = 30  # deadline, days from today when assigned (None: no deadline)
    supporting: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    urgency: str = Urgency.NORMAL
    cycle: str = ReportingCycle.NONE
    progress: int = 40


S = ItemStatus
ITEMS = [
    # i01 污水处理厂提标改造
    ItemSpec("i01", "污水处理厂提标改造主体工程建设", "zjj", S.IN_PROGRESS, "重点项目", 45, ["sthj"], {"ext"}, Urgency.URGENT, ReportingCycle.MONTHLY, 65),
    ItemSpec("i01", "提标改造配套管网建设", "zjj", S.IN_PROGRESS, "重点项目", 20, [], {"overdue"}, cycle=ReportingCycle.MONTHLY, progress=55),
    ItemSpec("i01", "出水水质在线监测设备安装联网", "sthj", S.VERIFIED, "生态环保", 25, ["zjj"]),
    # i02 常委会议定事项
    ItemSpec("i02", "工业园区标准厂房二期建设", "fgw", S.IN_PROGRESS, "重点项目", 60, ["zjj"], {"ext", "overdue"}, cycle=ReportingCycle.BIWEEKLY, progress=50),
    ItemSpec("i02", "城区背街小巷环境整治", "zjj", S.CLOSED, "城市建设", 30, ["dgjd"]),
    ItemSpec("i02", "农村饮水安全巩固提升工程", "nyj", S.VERIFIED, "民生实事", 40, ["hzx", "zfz"], {"refer_zzb"}),
    ItemSpec("i02", "工业园区污水集中处理设施建设", "fgw", S.PENDING_REVIEW, "重点项目", 35, ["sthj"]),
    # i03 中央环保督察反馈问题
    ItemSpec("i03", "河道非法采砂问题整改", "sthj", S.VERIFIED, "生态环保", 30, ["jtj", "hzx"], {"reopened"}, Urgency.URGENT),
    ItemSpec("i03", "规模化畜禽养殖污染治理", "nyj", S.IN_PROGRESS, "生态环保", 30, ["sthj", "zfz"], {"overdue", "refer_jw"}, progress=30),
    ItemSpec("i03", "黄庄乡垃圾填埋场渗滤液处理", "hzx", S.IN_PROGRESS, "生态环保", 25, ["sthj"], {"reopened"}, progress=80),
    ItemSpec("i03", "纸房镇小散乱污企业清理", "zfz", S.CLOSED, "生态环保", 20, ["sthj", "scj"]),
    # i04 便民服务中心空岗
    ItemSpec("i04", "黄庄乡便民服务中心“空岗”整改", "hzx", S.VERIFIED, "营商环境", 10, [], urgency=Urgency.URGENT),
    ItemSpec("i04", "东关街道便民服务中心“空岗”整改", "dgjd", S.IN_PROGRESS, "营商环境", 10, [], {"overdue", "refer_jw"}, Urgency.URGENT, progress=20),
    # i05 纸房镇中学交通
    ItemSpec("i05", "纸房镇中学门前道路交通疏导方案", "jtj", S.CLOSED, "民生实事", 5, ["jyj", "zfz"], urgency=Urgency.EXTRA_URGENT),
    ItemSpec("i05", "纸房镇中学上下学时段护学岗设置", "jyj", S.ACKNOWLEDGED, "教育医疗", 15, ["zfz"], urgency=Urgency.URGENT),
    ItemSpec("i05", "纸房镇中学门前停车场改建", "zfz", S.ASSIGNED, "民生实事", 40, ["jtj"], {"partial"}),
    # i06 老旧小区雨污分流（指导性）
    ItemSpec("i06", "东关街道老旧小区雨污分流改造", "zjj", S.IN_PROGRESS, "城市建设", 90, ["dgjd"], {"ext_pending"}, cycle=ReportingCycle.MONTHLY, progress=35),
    ItemSpec("i06", "向人大代表反馈建议办理情况", "zjj", S.DRAFT, "城市建设", 30),
    # i07 安全生产大检查
    ItemSpec("i07", "燃气管道安全隐患排查整治", "yjj", S.IN_PROGRESS, "安全生产", 25, ["zjj", "scj"], {"ext_rejected"}, Urgency.URGENT, ReportingCycle.WEEKLY, 60),
    ItemSpec("i07", "人员密集场所消防安全检查", "yjj", S.CLOSED, "安全生产", 20, ["dgjd"]),
    ItemSpec("i07", "道路交通安全隐患点治理", "jtj", S.SUSPENDED, "安全生产", 30, ["yjj"]),
    ItemSpec("i07", "危化品企业专项检查", "yjj", S.PENDING_REVIEW, "安全生产", 15, ["scj"], urgency=Urgency.URGENT),
    # i08 一网通办（指导性）
    ItemSpec("i08", "企业开办“一日办结”流程再造", "scj", S.VERIFIED, "营商环境", 45, ["zfb"], {"refer_zzb"}),
    ItemSpec("i08", "政务服务事项“一网通办”上线", "zfb", S.IN_PROGRESS, "营商环境", 60, ["scj"], {"sent_back"}, cycle=ReportingCycle.MONTHLY, progress=90),
    ItemSpec("i08", "涉企检查“综合查一次”制度", "scj", S.CANCELLED, "营商环境", 30, [], {"by_office"}),
    # i09 乡村振兴示范村
    ItemSpec("i09", "黄庄乡李家庄示范村建设", "hzx", S.IN_PROGRESS, "乡村振兴", 50, ["nyj"], {"ext", "overdue"}, cycle=ReportingCycle.MONTHLY, progress=45),
    ItemSpec("i09", "纸房镇后营村示范村建设", "zfz", S.IN_PROGRESS, "乡村振兴", 50, ["nyj"], cycle=ReportingCycle.MONTHLY, progress=70),
    ItemSpec("i09", "示范村产业项目资金整合方案", "nyj", S.CLOSED, "乡村振兴", 20, ["fgw"]),
    # i10 巡视整改（秘密）
    ItemSpec("i10", "巡视反馈干部不作为问题线索核查整改", "zfb", S.IN_PROGRESS, "营商环境", 30, [], {"overdue", "refer_jw"}, progress=25),
    ItemSpec("i10", "巡视反馈“以文件落实文件”问题整改", "fgw", S.PENDING_REVIEW, "重点项目", 30),
    # i11 深改委议定事项（内部）
    ItemSpec("i11", "县属国有企业改革方案制定", "fgw", S.ACKNOWLEDGED, "重点项目", 60, ["zfb"]),
    ItemSpec("i11", "教育集团化办学试点", "jyj", S.IN_PROGRESS, "教育医疗", 90, [], cycle=ReportingCycle.QUARTERLY, progress=30),
    ItemSpec("i11", "基层治理网格化全覆盖", "dgjd", S.DRAFT, "民生实事", 60),
    # i12 基层减负（参阅性：不设时限）
    ItemSpec("i12", "对照检查多头督查、重复督查问题", "zfb", S.IN_PROGRESS, "营商环境", None, [], progress=50),
    ItemSpec("i12", "基层减负情况自查报告", "hzx", S.ASSIGNED, "乡村振兴", None),
    # i13 工地扬尘
    ItemSpec("i13", "城区建筑工地扬尘治理整改", "zjj", S.IN_PROGRESS, "生态环保", 10, ["sthj"], {"overdue"}, Urgency.URGENT, progress=70),
    ItemSpec("i13", "渣土运输车辆密闭化整治", "jtj", S.ASSIGNED, "生态环保", 15, ["sthj"], {"overdue"}),
    # i14 村道破损
    ItemSpec("i14", "黄庄乡至县城村道修复", "jtj", S.IN_PROGRESS, "民生实事", 30, ["hzx"], urgency=Urgency.URGENT, progress=40),
    ItemSpec("i14", "农村公路日常养护机制建立", "jtj", S.DRAFT, "乡村振兴", 60),
    # i15 百日攻坚（内部）
    ItemSpec("i15", "重点项目每周调度机制", "fgw", S.VERIFIED, "重点项目", 20),
    ItemSpec("i15", "县人民医院新院区建设", "fgw", S.SUSPENDED, "重点项目", 90, ["zjj"]),
    ItemSpec("i15", "城南物流园土地征收", "fgw", S.IN_PROGRESS, "重点项目", 40, ["zjj", "zfz"], {"overdue", "refer_jw"}, progress=15),
    # i16 义务教育优质均衡（指导性）
    ItemSpec("i16", "义务教育优质均衡发展三年行动方案", "jyj", S.PENDING_REVIEW, "教育医疗", 40),
    ItemSpec("i16", "乡村教师周转宿舍建设", "jyj", S.CANCELLED, "教育医疗", 60, ["zjj"]),
    # i17 违规排污（秘密）
    ItemSpec("i17", "企业违规排污依法查处", "sthj", S.IN_PROGRESS, "生态环保", 15, [], {"refer_jw"}, Urgency.EXTRA_URGENT, progress=60),
    ItemSpec("i17", "排污企业周边环境监测", "sthj", S.DRAFT, "生态环保", 20),
    # i18 政府常务会议议定事项
    ItemSpec("i18", "冬季供暖保障", "zjj", S.ACKNOWLEDGED, "民生实事", 20, ["dgjd"], urgency=Urgency.URGENT),
    ItemSpec("i18", "校园食品安全专项整治", "scj", S.CLOSED, "教育医疗", 25, ["jyj"]),
    ItemSpec("i18", "农村公路冬季养护", "jtj", S.ASSIGNED, "乡村振兴", 25),
    # i19 防汛参阅件（参阅性）
    ItemSpec("i19", "纸房镇防汛预案修订", "zfz", S.ACKNOWLEDGED, "安全生产", None),
    # i20 农贸市场
    ItemSpec("i20", "东关街道农贸市场环境整治", "dgjd", S.PENDING_REVIEW, "民生实事", 7, ["scj"], urgency=Urgency.URGENT),
    # Registered by 督查员 刘洋, waiting for 督查室主任 赵志刚's approval before it is assigned.
    ItemSpec("i20", "农贸市场长效管理机制", "scj", S.AWAITING_APPROVAL, "民生实事", 30, ["dgjd"]),
]
# fmt: on

# Back-dated deadlines for overdue items: days before today (kept after the instruction date).
OVERDUE_DAYS = [3, 12, 6, 21, 2, 9, 15, 5]


class Demo:
    """Builds the demo; one instance per load."""

    def __init__(self, out=None):
        self.out = out
        self.today = timezone.localdate()
        self.units: dict[str, Unit] = {}
        self.users: dict[str, User] = {}
        self.heads: dict[str, User] = {}
        self.handlers: dict[str, User] = {}
        self.categories: dict[str, Category] = {}
        self.instructions: dict[str, Instruction] = {}
        self.overdue_index = 0

    def log(self, message: str) -> None:
        if self.out is not None:
            self.out.write(message)

    # -- organisation -----------------------------------------------------------------------

    def build_units(self) -> None:
        for key, name, short, kind, parent in UNITS:
            self.units[key] = Unit.objects.create(
                name=name, short_name=short, kind=kind, parent=self.units.get(parent), sort_order=len(self.units)
            )

    def build_users(self) -> None:
        # Hash the shared password once: PBKDF2 per user would make the load take many seconds.
        password_hash = make_password(DEMO_PASSWORD)
        for username, full_name, unit_key, title, roles, clearance, heads in USERS:
            is_admin = Role.ADMINISTRATOR in roles
            user = User(
                username=username,
                full_name=full_name,
                unit=self.units[unit_key],
                title=title,
                clearance=clearance,
                is_staff=is_admin,
                is_superuser=is_admin,
                phone=f"1390000{len(self.users):04d}",
            )
            user.password = password_hash
            user.save()
            RoleAssignment.objects.bulk_create([RoleAssignment(user=user, role=role) for role in roles])
            self.users[username] = user
            if heads:
                Unit.objects.filter(pk=self.units[unit_key].pk).update(head=user)
                self.units[unit_key].head = user
            if Role.UNIT_HEAD in roles:
                self.heads[unit_key] = user
            if Role.UNIT_HANDLER in roles:
                self.handlers[unit_key] = user

    def unit_actor(self, unit_key: str, item: Item) -> User:
        """The handler does the work, unless the item is above their clearance: then the head."""
        handler = self.handlers.get(unit_key)
        if handler is not None and handler.clearance >= item.classification:
            return handler
        return self.heads[unit_key]

    # -- ledger -----------------------------------------------------------------------------

    def build_instructions(self) -> None:
        for spec in INSTRUCTIONS:
            office = self.users["duchashi"] if spec.classification > INTERNAL else self.users["liuyang"]
            self.instructions[spec.key] = services.instruction_create(
                actor=office,
                title=spec.title,
                kind=spec.kind,
                nature=spec.nature,
                issuing_leader=self.users[spec.leader] if spec.leader else None,
                issuer_name=spec.issuer_name,
                document_number=spec.document_number,
                issued_on=self.today - datetime.timedelta(days=spec.days_ago),
                text=spec.text,
                classification=spec.classification,
            )

    def evidence(self, actor: User, name: str, text: str) -> list[int]:
        # A real Word document: evidence is accepted by its content, not by its name.
        buffer = io.BytesIO()
        document = docx.Document()
        document.add_paragraph(text)
        document.save(buffer)
        upload = ContentFile(buffer.getvalue(), name=name)
        return [services.attachment_upload(actor=actor, uploaded_file=upload).pk]

    def report(self, item: Item, unit_key: str, progress: int | None, text: str, kind=ReportKind.STAGE, evidence=False):
        actor = self.unit_actor(unit_key, item)
        attachments = self.evidence(actor, f"{item.code}-现场照片说明.docx", f"{item.title}：{text}") if evidence else ()
        services.progress_report_create(
            actor=actor,
            item=item,
            kind=kind,
            progress_text=text,
            results="已完成阶段目标，群众反映良好。" if (progress or 0) >= 60 else "",
            problems="资金拨付进度偏慢，施工受天气影响。" if (progress or 0) < 60 else "",
            next_steps="加快推进，按周调度，确保按时限完成。",
            progress=progress,
            attachment_ids=attachments,
        )

    def request(self, item: Item, kind: str, reason: str, approve: bool | None, *, actor: User | None = None, sign=True, **extra):
        """A unit's request, signed by its head (rule 14) unless `sign` is False (then it waits for
        the head), and decided by the office unless `approve` is None."""
        lead_key = self.unit_key(item.lead_unit)
        actor = actor or self.unit_actor(lead_key, item)
        req = services.item_request_create(actor=actor, item=item, kind=kind, reason=reason, **extra)
        if req.status == RequestStatus.AWAITING_ENDORSEMENT and sign:
            req = services.item_request_endorse(actor=self.heads[lead_key], request=req, comment="情况属实，同意报督查室。")
        if approve is not None:
            services.item_request_decide(
                actor=self.users["zhaozhigang"],
                request=req,
                approve=approve,
                comment="同意。" if approve else "成效佐证不足，请补充群众满意度调查和现场照片后重新申请。",
            )
        return req

    def unit_key(self, unit: Unit) -> str:
        return next(k for k, u in self.units.items() if u.pk == unit.pk)

    def complete(self, item: Item, approve: bool | None, lead: str) -> None:
        self.report(item, lead, 100, "各项任务已全部完成，经现场核验达到目标要求。", ReportKind.OVERALL)
        actor = self.unit_actor(lead, item)
        self.request(
            item,
            RequestKind.COMPLETION,
            "已按目标要求全部完成，申请销号。",
            approve,
            outcome="问题已整改到位，经回访群众满意，相关指标达到要求。",
            attachment_ids=self.evidence(
                actor, f"{item.code}-办结佐证.docx", f"{item.title} 办结佐证：整改前后对比照片、验收意见。"
            ),
        )

    def refresh(self, item: Item) -> Item:
        return Item.objects.get(pk=item.pk)

    def build_item(self, spec: ItemSpec) -> Item:
        instruction = self.instructions[spec.instruction]
        office = self.users["duchashi"] if instruction.classification > INTERNAL else self.users["liuyang"]
        deadline = None if spec.days is None else self.today + datetime.timedelta(days=spec.days)
        lead = self.units[spec.lead]
        item = services.item_create(
            actor=office,
            instruction=instruction,
            title=spec.title,
            requirement=f"{instruction.text[:60]}……具体目标：{spec.title}，按时限完成并报送佐证材料。",
            category=self.categories[spec.category],
            lead_unit=lead,
            supporting_units=[self.units[k] for k in spec.supporting],
            owner=self.heads[spec.lead] if instruction.classification > INTERNAL else self.handlers[spec.lead],
            deadline=deadline,
            urgency=spec.urgency,
            reporting_cycle=spec.cycle,
        )
        target, flags = spec.target, spec.flags
        if target == S.DRAFT:
            return item
        if target == S.AWAITING_APPROVAL:
            services.item_assign(actor=office, item=item, comment="拟交办，请主任审批。")
            return self.refresh(item)
        services.item_assign(actor=self.users["zhaozhigang"], item=item, comment="请按时限要求办理，按期反馈进展。")
        item = self.refresh(item)
        if target == S.ASSIGNED:
            if "partial" in flags:
                for key in spec.supporting:
                    services.item_acknowledge(actor=self.unit_actor(key, item), item=item, comment="已签收，全力配合。")
            return self.refresh(item)

        for key in [spec.lead, *spec.supporting]:
            services.item_acknowledge(actor=self.unit_actor(key, item), item=item, comment="已签收。")
        item = self.refresh(item)
        if target == S.ACKNOWLEDGED:
            return item

        self.report(item, spec.lead, min(spec.progress, 30), "已召开专题会议部署，成立工作专班，制定实施方案。", evidence=True)
        for key in spec.supporting:
            self.report(item, key, None, "已按分工落实配合任务，相关材料已提供牵头单位。")
        if spec.progress > 30:
            self.report(
                item, spec.lead, spec.progress, "主体工作有序推进，已完成阶段性节点任务。", ReportKind.THEMATIC, evidence=True
            )
        item = self.refresh(item)
        if {"ext", "ext_pending", "ext_rejected"} & flags and item.deadline:
            approve = True if "ext" in flags else (False if "ext_rejected" in flags else None)
            self.request(
                item,
                RequestKind.EXTENSION,
                "受征地拆迁和冬季施工条件影响，无法按原定时限完成，申请延期。",
                approve,
                # The pending one waits for the unit head's signature (住建局 黄涛: huangtao).
                sign="ext_pending" not in flags,
                requested_deadline=item.deadline + datetime.timedelta(days=30),
            )
            item = self.refresh(item)

        if target == S.SUSPENDED:
            actor = self.users["zhaozhigang"] if "by_office" in flags else None
            self.request(item, RequestKind.SUSPENSION, "项目规划调整，需待上级批复后继续实施。", True, actor=actor)
        elif target == S.CANCELLED:
            actor = self.users["zhaozhigang"] if "by_office" in flags else None
            self.request(item, RequestKind.CANCELLATION, "该事项已并入其他督办事项统筹推进，避免重复督查。", True, actor=actor)
        elif target == S.IN_PROGRESS and not {"reopened", "sent_back"} & flags:
            pass
        else:
            if "sent_back" in flags:
                self.complete(item, False, spec.lead)
                if target != S.IN_PROGRESS:
                    self.report(item, spec.lead, 100, "已补充群众满意度调查和现场照片。", evidence=True)
            if target != S.IN_PROGRESS or "reopened" in flags:
                self.complete(item, None if target == S.PENDING_REVIEW else True, spec.lead)
            if "reopened" in flags:
                services.return_visit_create(
                    actor=self.users["duchashi"],
                    item=item,
                    result=ReturnVisitResult.FAILED,
                    findings="回访发现问题出现反弹，整改成效未能巩固，重新交办。",
                )
                if target != S.IN_PROGRESS:
                    self.report(item, spec.lead, 90, "针对回访发现的问题再次整改，建立长效机制。", evidence=True)
                    self.complete(item, True, spec.lead)
            if target == S.VERIFIED:
                services.return_visit_create(
                    actor=self.users["duchashi"],
                    item=item,
                    result=ReturnVisitResult.PASSED,
                    findings="实地回访，整改成效巩固，群众满意。",
                )

        if "refer_jw" in flags:
            services.referral_create(
                actor=self.users["zhaozhigang"],
                item=item,
                department=ReferralDepartment.DISCIPLINE,
                reason="超期未办结且未说明客观原因，存在慢作为问题线索，移交县纪委监委处理。",
            )
        if "refer_zzb" in flags:
            services.referral_create(
                actor=self.users["zhaozhigang"],
                item=item,
                department=ReferralDepartment.ORGANIZATION,
                reason="抓落实成效突出，作为典型向组织部门推荐。",
            )
        item = self.refresh(item)
        if "overdue" in flags:
            self.backdate(item, instruction)
        return self.refresh(item)

    def backdate(self, item: Item, instruction: Instruction) -> None:
        """DEMO BACK-DATING, not a service: the services refuse past deadlines at assignment (rightly),
        so an item cannot *become* overdue within one load. To show overdue items the demo assigns
        with a future deadline and then moves the deadline (and the approved extension that set
        it) into the past with a plain queryset update. The audit events keep the dates the
        services recorded; only this demo ever does this."""
        assert item.status in OPEN_STATUSES, item.status
        days = OVERDUE_DAYS[self.overdue_index % len(OVERDUE_DAYS)]
        self.overdue_index += 1
        deadline = self.today - datetime.timedelta(days=days)
        original = deadline - datetime.timedelta(days=30) if item.extension_count else deadline
        original = max(original, instruction.issued_on)
        Item.objects.filter(pk=item.pk).update(deadline=deadline, original_deadline=original)
        ItemRequest.objects.filter(item=item, kind=RequestKind.EXTENSION, status=RequestStatus.APPROVED).update(
            previous_deadline=original, requested_deadline=deadline
        )

    def backdate_registration(self) -> None:
        """DEMO BACK-DATING (see `backdate`): a real ledger is filled over months, this one in a
        second; register and assign each item two days after its instruction was issued."""
        for instruction in self.instructions.values():
            when = timezone.make_aware(datetime.datetime.combine(instruction.issued_on, datetime.time(9, 30)))
            when += datetime.timedelta(days=2)
            Instruction.objects.filter(pk=instruction.pk).update(created_at=when - datetime.timedelta(days=1))
            Item.objects.filter(instruction=instruction).update(created_at=when)
            Item.objects.filter(instruction=instruction, assigned_at__isnull=False).update(assigned_at=when)

    def backdate_closures(self) -> None:
        """DEMO BACK-DATING (see `backdate`): a closed item in a real ledger was closed weeks ago,
        against a deadline that has passed; closed the same second it was registered, no closed
        item would be "due" yet and the implementation rate would read 0 of 0. Keep each item's
        planned span from its registration date, close most before the deadline and every third
        one a few days late, so the rates have something honest to count."""
        closed = Item.objects.filter(status__in=(ItemStatus.CLOSED, ItemStatus.VERIFIED), deadline__isnull=False)
        for n, item in enumerate(closed.select_related("instruction").order_by("pk")):
            registered = item.created_at.date()
            span = max((item.original_deadline or item.deadline) - self.today, datetime.timedelta(days=5))
            original = min(registered + span, self.today - datetime.timedelta(days=2))
            deadline = original + datetime.timedelta(days=15) if item.extension_count else original
            deadline = min(deadline, self.today - datetime.timedelta(days=1))
            late = n % 3 == 2
            closed_on = deadline + datetime.timedelta(days=4) if late else registered + (original - registered) * 2 // 3
            closed_on = max(registered, min(closed_on, self.today - datetime.timedelta(days=1)))
            closed_at = timezone.make_aware(datetime.datetime.combine(closed_on, datetime.time(16, 0)))
            Item.objects.filter(pk=item.pk).update(deadline=deadline, original_deadline=original, closed_at=closed_at)
            ItemAssignment.objects.filter(item=item, acknowledged_at__isnull=False).update(
                acknowledged_at=timezone.make_aware(datetime.datetime.combine(registered, datetime.time(15, 0)))
            )

    def build_follow_through(self) -> None:
        """A leader's comment the units still have to read, and referrals the receiving
        departments took up and decided (issue 12)."""
        item = Item.objects.filter(status=ItemStatus.IN_PROGRESS, classification=Classification.PUBLIC).order_by("pk").first()
        if item is not None:
            services.comment_create(
                actor=self.users["shuji"],
                item=item,
                text="此事群众关注度高，要倒排工期、挂图作战，月底前务必见到实效。请督查室跟踪督办。",
            )
        outcomes = {
            ReferralDepartment.DISCIPLINE: (
                "jijian",
                ReferralOutcome.TALK_REMINDER,
                "已对责任单位分管负责人进行谈话提醒，责令限期整改。",
            ),
            ReferralDepartment.ORGANIZATION: ("zuzhibu", ReferralOutcome.RECOMMENDATION, "经研究，列入年度先进典型推荐名单。"),
        }
        for department, (username, outcome, text) in outcomes.items():
            referral = Referral.objects.filter(department=department).order_by("pk").first()
            if referral is None:
                continue
            actor = self.users[username]
            services.referral_acknowledge(actor=actor, referral=referral)
            services.referral_outcome_record(
                actor=actor,
                referral=referral,
                outcome=outcome,
                text=text,
                attachment_id=self.evidence(actor, "处理结果.docx", text)[0],
            )

    def build_duplicates(self) -> None:
        """减负 (issue 15): the same matter chased twice. A road repair from a 群众来信 (i14) came back
        from the 常务会议 (i18) and the office linked the two (合并督办: 交通局 answers once, on the lead
        item); a dust-control matter pushed again by the OA system waits for the office as 疑似重复."""
        office = self.users["liuyang"]
        lead = Item.objects.get(title="黄庄乡至县城村道修复")
        again = self.build_item(ItemSpec("i18", "黄庄乡至县城村道破损路段修复", "jtj", S.ASSIGNED, "民生实事", 30, ["hzx"]))
        services.item_link(
            actor=office,
            item=again,
            lead=lead,
            comment="与群众来信反映的村道修复为同一事项，合并督办，由交通局在主办事项上统一反馈。",
        )
        pushed = self.build_item(ItemSpec("i13", "城区建筑工地扬尘污染治理整改", "zjj", S.ASSIGNED, "生态环保", 15, ["sthj"]))
        raised = services.suspicions_raise(actor=office, items=[pushed], source=SuspicionSource.INTAKE)
        # The demo promises a pair waiting for the office; a detector change that loses it must fail loudly.
        assert raised, "demo: the pushed dust-control item raised no 疑似重复"

    def build(self) -> None:
        # The office's own level is on: a 督查员's items wait for the 督查室主任 (赵志刚).
        OfficeSettings.objects.update_or_create(pk=1, defaults={"director_approval_required": True})
        self.build_units()
        self.build_users()
        for order, name in enumerate(CATEGORIES):
            self.categories[name] = Category.objects.create(name=name, sort_order=order * 10)
        self.build_instructions()
        for spec in ITEMS:
            item = self.build_item(spec)
            assert item.status == spec.target, (spec.title, item.status, spec.target)
        self.build_follow_through()
        self.build_duplicates()
        self.backdate_registration()
        self.backdate_closures()
        # The back-dating moved deadlines with plain updates: rebuild the deadline history from them.
        deadline_history_recover(Item=Item, ItemRequest=ItemRequest, AuditEvent=AuditEvent, DeadlineSpan=DeadlineSpan)
        # The back-dated assignment and deadline dates move the yellow-light dates too.
        warning_dates_refresh()
        # Back-dating moved the reminder schedules too: overdue items owe reminders now, so the
        # first sweep after start-up (within a minute) fills the inboxes.
        reminders_reschedule_open()
        self.log(
            f"已创建 {len(self.units)} 个单位、{len(self.users)} 个用户、{len(self.instructions)} 件批示件、{len(ITEMS)} 个督办事项。"
        )


def demo_loaded() -> bool:
    return User.objects.filter(username=MARKER_USERNAME).exists()


def load_demo(out=None) -> bool:
    """Load the demo county in one transaction. Returns False (and changes nothing) if already loaded."""
    with transaction.atomic():
        if demo_loaded():
            return False
        Demo(out=out).build()
    return True
