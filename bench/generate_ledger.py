"""Generator: a province-scale ledger in PostgreSQL for the dashboard benchmarks (issue 4).

    .venv/bin/python bench/generate_ledger.py --database postgres://postgres@127.0.0.1:5432/duban_bench_1m --items 1000000
    .venv/bin/python bench/generate_ledger.py --database postgres://postgres@127.0.0.1:5432/duban_bench_100k --items 100000

Drops and re-creates the named database (so it is re-runnable; it refuses a name that does not start
with `duban_bench`), migrates it, and writes with COPY:

- 500 units in a 3-level tree (province bodies and 14 cities; their departments and counties; the
  counties' departments), materialized paths as `Unit.save` writes them, a head per unit;
- 5,000 users: office staff, leaders (the issuing leaders), 纪检, 组织部门, unit heads and handlers,
  with roles and clearances (every password is `duban2026`);
- categories; instructions of every kind and nature from 2023-01 to today, with issuing leaders
  (or an outside issuer's name) and classifications;
- `--items` items, ~5 per instruction, titled and described the way offices write them (a place, an
  object and a task per subject: 东关镇杨庄村饮水工程改造, 关于人民路路面破损修复的批示, 群众反映…问题; see
  MatterWords), with lead and supporting assignments (acknowledged when the state says so) and a
  realistic mix of states: closed on time or late, verified, extended (with
  the approved extension requests), overdue and open, in progress, pending review, drafts,
  suspended, cancelled, reopened after a failed return visit (with the return visits), overdue
  explanations awaiting, filed or ruled on some overdue items (accountability with its referral);
- every item's matching signature (ItemSignature, what the duplicate lookup reads), computed by
  supervision.matching in `--signature-workers` processes while the ledger is generated and checked
  on a sample against the service's own `signatures_refresh` (`--no-signatures` leaves them out:
  ~0.5 ms of CPU per item).

The invariants the services keep are kept here: ledger codes DB-<year>-NNNN unique and numbered per
year (the ledger series of YearlyCounter set to the last number), original_deadline = the deadline at assignment,
deadline_time only for 特急 and cleared by an extension, warning_date from the same rule as
`warning_dates.warning_date_for` (a fast copy over the stored calendar, checked against the real function
on a sample), owner a member of the lead unit, one LEAD assignment = lead_unit, no supporting unit
equal to the lead, classification never below the instruction's, closed_at only on CLOSED/VERIFIED,
status_before_suspension only on SUSPENDED, next_reminder_at only on open items. Not written: the
audit trail, progress reports and reminders/notifications (the statistics do not read them).
Extension requests and overdue explanations are written as filed before unit sign-off (rule 14:
needs_endorsement false), referrals with no outcome recorded yet.

Deterministic for a given --seed. Prints what it wrote and how long each step took.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import datetime
import importlib
import io
import math
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/duban_bench_1m"
TZ = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Shanghai has no DST
Date = datetime.date
ONE_DAY = datetime.timedelta(days=1)
FIRST_DAY = Date(2023, 1, 3)


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    if not name.startswith("duban_bench"):
        raise SystemExit(f"refusing to drop {name!r}: the generator only writes databases named duban_bench*")
    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# ---------------------------------------------------------------------------------------------
# Names

CITIES = "云州 江陵 临川 青阳 安平 宁远 石门 松江 白河 龙泉 东海 南屏 西岭 北固".split()
CITY_BODIES = ["市委办公室", "市政府办公室", "市发展和改革委员会", "市生态环境局", "市住房和城乡建设局"]
COUNTY_SUFFIX = ["区", "县", "县", "市"]
COUNTY_NAMES = "长乐 永安 清溪 平山 兴隆 丰泽 新华 和平 太和 福田 金沙".split()
COUNTY_DEPTS = [
    "县委办公室",
    "县政府办公室",
    "县发展和改革局",
    "县教育局",
    "县生态环境局",
    "县住房和城乡建设局",
    "县交通运输局",
    "县应急管理局",
    "县农业农村局",
    "县市场监督管理局",
    "县卫生健康局",
    "县自然资源局",
]
PROVINCE_DEPTS = [
    "省发展和改革委员会",
    "省教育厅",
    "省科学技术厅",
    "省工业和信息化厅",
    "省公安厅",
    "省民政厅",
    "省财政厅",
    "省人力资源和社会保障厅",
    "省自然资源厅",
    "省生态环境厅",
    "省住房和城乡建设厅",
    "省交通运输厅",
    "省水利厅",
    "省农业农村厅",
    "省商务厅",
    "省文化和旅游厅",
    "省卫生健康委员会",
    "省应急管理厅",
    "省审计厅",
    "省市场监督管理局",
    "省统计局",
    "省医疗保障局",
    "省乡村振兴局",
    "省林业局",
    "省能源局",
    "省粮食和物资储备局",
    "省信访局",
    "省数据局",
    "省体育局",
    "省地方金融管理局",
    "省国资委",
    "省广播电视局",
    "省药品监督管理局",
    "省人防办",
    "省机关事务管理局",
    "省退役军人事务厅",
    "省司法厅",
    "省民族宗教事务委员会",
    "省外事办公室",
    "省住房公积金管理中心",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈".replace(" ", "")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玲斌宇浩凯鹏飞燕晨阳雪梅丹琳婷辉峰亮"
CATEGORIES = [
    "重点项目",
    "生态环保",
    "民生实事",
    "安全生产",
    "乡村振兴",
    "营商环境",
    "城市建设",
    "教育卫生",
    "信访维稳",
    "招商引资",
    "作风建设",
    "改革任务",
]
KINDS = [
    "leader_instruction",
    "meeting_decision",
    "assigned_from_above",
    "inspection_finding",
    "public_report",
    "deputies_suggestion",
]
KIND_WEIGHTS = [40, 22, 14, 10, 9, 5]
TOPICS = ["推进", "整改", "落实", "督促解决", "加快", "做好", "研究解决", "排查整治"]
SUBJECTS = [
    "老旧小区改造",
    "河道污染问题",
    "重点项目建设进度",
    "农村饮水安全",
    "企业反映的审批难题",
    "校园周边交通安全",
    "秸秆禁烧",
    "欠薪问题",
    "道路破损修复",
    "养老服务设施建设",
    "危化品安全检查",
    "高标准农田建设",
    "营商环境投诉",
    "医疗机构服务改进",
    "安置房建设",
    "垃圾分类",
    "物业纠纷",
    "防汛准备",
]


# What items are about, per subject: where (a kind of place), what, and what is to be done. Titles are
# composed from these the way offices write them (地点 + 对象 + 任务, sometimes framed: 加快推进…, 关于…的批示,
# 群众反映…问题), so a unit's items read like a real ledger's: mostly distinct matters, a few written
# twice, and many that share a place or an object. The duplicate-matching benchmark reads them.
TOWNS = (
    "东关 西关 南关 北关 龙泉 白沙 青石 桃源 柳河 杨庄 马坊 石桥 新集 黄村 李庄 高庙 王集 三河 双龙 清水 红星 永丰 长岭 大营 "
    "小店 凤凰 金山 银湖 梅林 竹园 纸房 黄庄 官渡 安乐 太平 兴隆 曹集 孙店 赵坊 吕巷 麻城 樟树 枫桥 荷塘 花溪 牛山 鹿鸣 云台 "
    "九里 十里铺 八里 五龙 七星 卧龙 盘石 沙河 潭头 芦村"
).split()
TOWN_SUFFIX = ("镇", "镇", "乡", "街道")
VILLAGES = (
    "杨庄 李屯 张湾 刘营 陈岗 周楼 吴圩 郑集 王寨 冯桥 蒋坝 沈沟 韩庄 朱岭 秦岗 许湾 何庄 吕寨 施桥 孔庄 曹庄 严店 华村 金岗 "
    "魏楼 陶圩 姜庄 戚家 谢湾 邹寨 喻庄 柏树 水口 窦庄 章湾 云岭 苏庄 潘集 葛店 范楼 彭庄 郎家 鲁岗 韦庄 昌岭 马湾 苗庄 凤岭 "
    "花园 方庄 俞湾 任庄 袁店 柳庄 酆家 鲍岗 史湾 唐庄 费集 廉村 岑楼 薛庄 雷岗 贺湾 倪庄 汤寨 滕楼 殷庄 罗湾 毕庄 郝岗"
).split()
ROADS = (
    "人民 解放 建设 和平 文化 中山 胜利 幸福 团结 长江 黄河 滨河 迎宾 光明 新华 民主 工业 朝阳 育才 健康 府前 环城 站前 "
    "青年 振兴 开发 学府 龙湖 体育 纬二 经三"
).split()
ROAD_SUFFIX = ("路", "路", "街", "大道")
ESTATES = (
    "幸福里 阳光 锦绣 翠苑 丽景 金色家园 康乐 和谐 书香 御景 东方明珠 紫荆 银杏 桂花园 香樟 滨江 碧水 世纪 明珠 "
    "供电局家属院 粮食局家属院 纺织厂宿舍 机械厂宿舍 水利局家属院 棉麻公司宿舍 春晖 丰泽 嘉禾 富康 安居 凤栖 "
    "百花 新城 泰和 福馨 怡景 星河 博雅 龙腾 华府"
).split()
ESTATE_SUFFIX = ("小区", "小区", "花园", "家园")
WATERS = (
    "清水 沙 白马 青龙 柳 小清 黑 双溪 大沙 金水 赵王 引 东干 西干 凤凰 龙须 南湖 北湖 桃花 石门 杨家 老鸦 牛栏 野猪"
).split()
WATER_SUFFIX = ("河", "河", "渠", "沟", "水库")
FIRMS = "宏达 鑫源 恒通 华泰 永盛 金诚 瑞丰 天成 隆兴 东方 富华 润泽 鼎力 中联 博远 汇通 正大 兴业 福瑞 嘉信 海川 康达 明珠 长城".split()
FIRM_TRADES = ("化工", "建材", "矿业", "食品", "物流", "纺织", "机械", "置业", "建筑工程", "新能源")
SCHOOLS_COUNTY = (
    "县第一中学",
    "县第二中学",
    "县第三中学",
    "县实验小学",
    "县实验中学",
    "县职业中学",
    "县特殊教育学校",
    "县第二实验小学",
)
SCHOOL_KINDS = ("中心小学", "初级中学", "中心幼儿园", "小学")
HOSPITALS_COUNTY = ("县人民医院", "县中医院", "县妇幼保健院", "县疾控中心", "县第二人民医院")
PROJECTS = (
    "经济开发区",
    "高新产业园",
    "物流园",
    "高铁站站前广场",
    "城北新区",
    "体育中心",
    "污水处理厂",
    "第二水厂",
    "滨河公园",
    "老城区",
    "科创园",
    "农产品加工园",
    "汽车站",
    "文化中心",
    "人民公园",
    "市民中心",
    "跨河大桥",
    "环城路",
)
# subject -> (place kinds, objects, tasks, what the requirement asks)
DOMAINS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "老旧小区改造": (
        ("estate",),
        ("雨污分流", "外墙保温", "加装电梯", "屋面防水", "消防通道", "停车位", "供水管网", "路面硬化"),
        ("改造", "施工", "改造工程"),
        ("年底前完成改造", "施工期间做好居民沟通", "工程质量验收合格"),
    ),
    "河道污染问题": (
        ("water",),
        ("黑臭水体", "排污口", "垃圾漂浮物", "岸线违建", "养殖污染", "污水直排"),
        ("治理", "整治", "清理"),
        ("限期消除黑臭", "排污口全部封堵", "建立河长巡查机制"),
    ),
    "重点项目建设进度": (
        ("project",),
        ("一期工程", "二期工程", "配套道路", "土地征收", "环评审批", "主体工程", "管网配套"),
        ("建设进度滞后", "建设", "开工", "竣工验收"),
        ("按节点完成投资", "倒排工期确保按期完工", "每月报送形象进度"),
    ),
    "农村饮水安全": (
        ("village",),
        ("饮水工程", "供水管网", "水质不达标", "蓄水池", "水源地保护", "自来水入户"),
        ("改造", "治理", "建设"),
        ("确保群众喝上放心水", "水质检测达标", "汛期前完工"),
    ),
    "企业反映的审批难题": (
        ("firm",),
        ("施工许可", "环评手续", "用地审批", "消防验收", "不动产登记", "排污许可"),
        ("办理滞后", "审批难", "迟迟未办结"),
        ("限时办结并答复企业", "明确办理时限", "一次性告知所需材料"),
    ),
    "校园周边交通安全": (
        ("school",),
        ("门前交通秩序", "上下学拥堵", "周边违停", "接送车辆管理", "人行横道设置", "减速带设置"),
        ("治理", "整治", "问题"),
        ("上下学时段安排警力", "开学前完成标线施划", "消除安全隐患"),
    ),
    "秸秆禁烧": (
        ("town",),
        ("秸秆焚烧", "秸秆综合利用", "禁烧巡查", "火点"),
        ("管控", "治理", "落实"),
        ("夏收期间实现零火点", "网格化巡查到位", "综合利用率达到95%"),
    ),
    "欠薪问题": (
        ("firm", "project"),
        ("拖欠农民工工资", "工程款拖欠", "工资保证金"),
        ("问题", "处理", "清欠"),
        ("春节前全部清偿", "依法处理并答复", "建立工资专户"),
    ),
    "道路破损修复": (
        ("road",),
        ("路面破损", "人行道破损", "井盖缺失", "路灯不亮", "积水", "坑洼"),
        ("修复", "维修", "治理"),
        ("一周内修复到位", "雨季前完成", "消除行车安全隐患"),
    ),
    "养老服务设施建设": (
        ("town",),
        ("养老服务中心", "日间照料中心", "敬老院", "老年食堂", "居家养老服务站"),
        ("建设", "改造提升", "运营"),
        ("年底前投入使用", "配齐护理人员", "达到星级标准"),
    ),
    "危化品安全检查": (
        ("firm",),
        ("储罐区", "危化品仓库", "安全隐患", "防雷设施", "消防设施", "重大危险源"),
        ("整改", "排查", "隐患治理"),
        ("限期整改到位", "逐项销号", "整改前停产停业"),
    ),
    "高标准农田建设": (
        ("village", "town"),
        ("高标准农田", "农田水利设施", "灌溉渠系", "土地平整", "机耕路"),
        ("建设", "管护", "验收"),
        ("完成年度建设任务", "建后管护落实到人", "按期通过验收"),
    ),
    "营商环境投诉": (
        ("firm",),
        ("水电气报装", "政策兑现", "涉企检查", "中介服务收费", "惠企资金拨付"),
        ("投诉", "问题", "诉求"),
        ("十个工作日内办结", "答复企业并回访", "举一反三完善制度"),
    ),
    "医疗机构服务改进": (
        ("hospital",),
        ("门诊挂号", "住院楼", "急诊", "停车难", "医共体", "检查预约"),
        ("改进", "改造", "建设"),
        ("缩短群众等候时间", "年内投入使用", "提升群众满意度"),
    ),
    "安置房建设": (
        ("estate", "project"),
        ("安置房", "回迁房", "配套设施", "不动产证办理", "安置房交付"),
        ("建设", "交付", "办理"),
        ("按期交付群众", "配套设施同步建成", "年底前完成办证"),
    ),
    "垃圾分类": (
        ("town", "estate"),
        ("垃圾分类", "垃圾中转站", "生活垃圾收运", "垃圾分类投放点"),
        ("推行", "建设", "整改"),
        ("覆盖率达到90%", "日产日清", "建立长效机制"),
    ),
    "物业纠纷": (
        ("estate",),
        ("物业服务", "物业费", "公共收益", "电梯维修", "业委会选举"),
        ("纠纷", "问题", "矛盾"),
        ("化解矛盾纠纷", "督促物业整改", "依法依规处理"),
    ),
    "防汛准备": (
        ("water", "town"),
        ("防汛物资储备", "病险水库除险加固", "堤防", "排涝泵站", "内涝点"),
        ("准备", "整治", "加固"),
        ("主汛期前完成", "落实责任人", "物资储备到位"),
    ),
}


class MatterWords:
    """Titles and requirement texts of items, from their own random stream (so the rest of the ledger
    is the same for a seed whatever is written here)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed * 7919 + 15)

    def place(self, kind: str) -> str:
        r = self.rng
        town = r.choice(TOWNS) + r.choice(TOWN_SUFFIX)
        if kind == "town":
            return town
        if kind == "village":
            return f"{town}{r.choice(VILLAGES)}村" if r.random() < 0.7 else f"{r.choice(VILLAGES)}村"
        if kind == "road":
            road = r.choice(ROADS) + r.choice(ROAD_SUFFIX)
            return road if r.random() < 0.7 else f"{road}与{r.choice(ROADS)}{r.choice(ROAD_SUFFIX)}交叉口"
        if kind == "estate":
            estate = r.choice(ESTATES) + r.choice(ESTATE_SUFFIX)
            return estate if r.random() < 0.6 else town + estate
        if kind == "water":
            water = r.choice(WATERS) + r.choice(WATER_SUFFIX)
            return water if r.random() < 0.5 else town + water + r.choice(("段", "", ""))
        if kind == "firm":
            return f"{r.choice(FIRMS)}{r.choice(FIRM_TRADES)}有限公司"
        if kind == "school":
            return r.choice(SCHOOLS_COUNTY) if r.random() < 0.4 else town + r.choice(SCHOOL_KINDS)
        if kind == "hospital":
            return r.choice(HOSPITALS_COUNTY) if r.random() < 0.6 else f"{town}卫生院"
        return r.choice(PROJECTS) if r.random() < 0.6 else town + r.choice(PROJECTS)

    def matter(self, subject: str, topic: str) -> tuple[str, str]:
        """(title, requirement) of one item about `subject`; `topic` is the framing verb drawn for it."""
        r = self.rng
        kinds, objects, tasks, asks = DOMAINS[subject]
        place, obj, task = self.place(r.choice(kinds)), r.choice(objects), r.choice(tasks)
        form = r.random()
        if form < 0.55:
            title = f"{place}{obj}{task}"
        elif form < 0.72:
            title = f"{topic}{place}{obj}{task}"
        elif form < 0.8:
            title = f"关于{place}{obj}{task}的批示"
        elif form < 0.9:
            title = f"群众反映{place}{obj}问题"
        else:
            title = f"{place}{obj}{task}（{r.choice(('一期', '二期', '2025年', '2026年', '第一批', '第二批'))}）"
        text = r.random()
        if text < 0.25:
            requirement = ""
        elif text < 0.6:
            requirement = f"{place}{obj}{r.choice(asks)}。"
        elif text < 0.85:
            requirement = f"{r.choice(asks)}，{r.randint(1, 12)}月底前报送结果。"
        else:
            requirement = f"群众多次反映{place}{obj}问题，请{task}，{r.choice(asks)}。"
        return title, requirement


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


# ---------------------------------------------------------------------------------------------
# Calendar: a fast copy of supervision.workcalendar over one load of the stored exceptions


class Calendar:
    def __init__(self, exceptions: dict[Date, bool], first: Date, last: Date):
        days, day = [], first
        while day <= last:
            stored = exceptions.get(day)
            if (day.weekday() < 5) if stored is None else stored:
                days.append(day)
            day += ONE_DAY
        self.workdays = days

    def add(self, start: Date, n: int) -> Date:
        """workcalendar.add_workdays for n != 0."""
        if n > 0:
            return self.workdays[bisect.bisect_right(self.workdays, start) + n - 1]
        return self.workdays[bisect.bisect_left(self.workdays, start) + n]

    def between(self, a: Date, b: Date) -> int:
        if b < a:
            return -self.between(b, a)
        return bisect.bisect_right(self.workdays, b) - bisect.bisect_right(self.workdays, a)

    def warning_date(self, start: Date, deadline: Date, share: Decimal, few_days: int) -> Date:
        """warning_dates.warning_date_for, same arithmetic."""
        total = self.between(start, deadline)
        candidates = [self.add(deadline, -few_days)] if few_days else [deadline]
        if total > 0:
            candidates.append(self.add(start, max(1, math.ceil(Decimal(total) * share))))
        return min(max(min(candidates), start), deadline)


# ---------------------------------------------------------------------------------------------
# COPY helpers


def _cell(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    text = str(value)
    if "\t" in text or "\n" in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


class Copier:
    """Buffers rows as COPY text and flushes in large chunks."""

    def __init__(self, conn, table: str, columns: list[str], constants: dict | None = None):
        """`constants`: columns with the same value on every row (NOT NULL columns without a database default)."""
        self.conn, self.table = conn, table
        self.columns = [*columns, *(constants or {})]
        self.tail = "".join("\t" + _cell(v) for v in (constants or {}).values())
        self.buffer = io.StringIO()
        self.rows = 0

    def add(self, row) -> None:
        self.buffer.write("\t".join(map(_cell, row)))
        self.buffer.write(self.tail)
        self.buffer.write("\n")
        self.rows += 1
        if self.rows % 50000 == 0:
            self.flush()

    def flush(self) -> None:
        data = self.buffer.getvalue()
        if not data:
            return
        with self.conn.cursor() as cur, cur.copy(f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN") as copy:
            copy.write(data)
        self.buffer = io.StringIO()


# ---------------------------------------------------------------------------------------------
# Item signatures (ItemSignature): what the duplicate lookup reads, as the item services store them


def _signature_rows(batch) -> tuple[list[tuple[int, int, str, str]], float]:
    """(item id, lead unit id, data, chars) per matter, as supervision.services.signatures stores them;
    and the CPU seconds it took. Runs in a worker process."""
    from supervision.matching import MatterText, signature
    from supervision.services.signatures import signature_chars as _chars

    started = time.process_time()
    out = []
    for item_id, lead, title, requirement, lead_name, supporting, kind, ref in batch:
        sig = signature(
            MatterText(
                title=title,
                text=requirement,
                lead_unit=lead_name,
                supporting_units=supporting,
                source_kind=kind,
                instruction_ref=ref,
            )
        )
        out.append((item_id, lead, sig.to_json(), _chars(sig)))
    return out, time.process_time() - started


def _warm_worker() -> None:
    from supervision.matching import MatterText, signature

    signature(MatterText(title="预热分词词典"))  # jieba's dictionary, once per worker


class SignatureSink:
    """Computes the items' signatures in worker processes while the ledger is generated and COPYs
    them into supervision_itemsignature (the same MatterText as `matter_of`: title, requirement,
    lead and supporting unit names, the instruction's kind and document number)."""

    CHUNK = 1000

    def __init__(self, pool, now: datetime.datetime):
        self.pool, self.now = pool, now
        self.batch: list[tuple] = []
        self.pending: collections.deque = collections.deque()
        self.unit_names: dict[int, str] = {}
        self.copier: Copier | None = None
        self.cpu = 0.0
        self.waited = 0.0

    def add(self, item_id, lead, title, requirement, supporting, kind, ref) -> None:
        names = self.unit_names
        self.batch.append((item_id, lead, title, requirement, names[lead], tuple(names[u] for u in supporting), kind, ref))
        if len(self.batch) >= self.CHUNK:
            self._submit()
            self._drain(block=False)

    def _submit(self) -> None:
        if not self.batch:
            return
        if self.pool is None:
            self._store(_signature_rows(self.batch))
        else:
            self.pending.append(self.pool.apply_async(_signature_rows, (self.batch,)))
        self.batch = []

    def _store(self, result) -> None:
        rows, cpu = result
        self.cpu += cpu
        for item_id, lead, data, chars in rows:
            self.copier.add((item_id, lead, data, chars, self.now))

    def _drain(self, block: bool) -> None:
        while self.pending and (block or self.pending[0].ready()):
            self._store(self.pending.popleft().get())

    def finish(self) -> int:
        """Waits for the workers, writes the rest; returns how many signatures were written."""
        self._submit()
        started = time.perf_counter()
        self._drain(block=True)
        self.waited = time.perf_counter() - started
        self.copier.flush()
        if self.pool is not None:
            self.pool.close()
            self.pool.join()
        return self.copier.rows


def check_signatures(sample: int, seed: int) -> int:
    """Recomputes `sample` items' signatures through the service (signatures_refresh, inside a
    transaction rolled back) and compares them with the generated ones; returns how many differ."""
    from django.db import transaction

    from supervision.models import Item, ItemSignature
    from supervision.services.signatures import signatures_refresh

    last = Item.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = sorted(random.Random(seed).sample(range(1, last + 1), min(sample, last)))

    def stored():
        return {
            pk: (unit, data, chars)
            for pk, unit, data, chars in ItemSignature.objects.filter(item_id__in=ids).values_list(
                "item_id", "lead_unit_id", "data", "chars"
            )
        }

    class Rollback(Exception):
        pass

    generated = stored()
    try:
        with transaction.atomic():
            signatures_refresh(item_ids=ids)
            recomputed = stored()
            raise Rollback
    except Rollback:
        pass
    return sum(1 for pk in ids if generated.get(pk) is None or generated.get(pk) != recomputed.get(pk))


# ---------------------------------------------------------------------------------------------
# The generator


class Generator:
    def __init__(
        self,
        conn,
        *,
        items: int,
        seed: int,
        now: datetime.datetime,
        thresholds: dict,
        calendar: Calendar,
        password: str,
        signatures: SignatureSink | None = None,
    ):
        self.conn = conn
        self.n_items = items
        self.rng = random.Random(seed)
        self.now = now
        self.today = now.astimezone(TZ).date()
        self.thresholds = thresholds
        self.cal = calendar
        self.password = password
        self.counts: dict[str, int] = {}
        self.words = MatterWords(seed)
        self.signatures = signatures  # SignatureSink or None

    # Units and people ---------------------------------------------------------------------

    def units(self) -> None:
        rows = []  # (id, name, kind, parent_id)

        def add(name, kind, parent=None):
            rows.append((len(rows) + 1, name, kind, parent))
            return len(rows)

        self.office_unit = add("省委督查室", "supervision_office")
        party = add("省委办公厅", "party_office")
        self.discipline_unit = add("省纪委监委", "discipline")
        self.organization_unit = add("省委组织部", "organization")
        province_leaders = add("省委省政府领导班子", "leadership")
        government = add("省人民政府办公厅", "party_office")
        self.leadership_units = [province_leaders]
        for name in PROVINCE_DEPTS:
            add(name, "department", government)
        add("省委督查室综合处", "supervision_office", self.office_unit)
        add("省纪委监委第一监督检查室", "discipline", self.discipline_unit)
        add("省委组织部干部一处", "organization", self.organization_unit)
        add("省委办公厅秘书处", "party_office", party)
        for city in CITIES:  # 14 cities, each with its bodies and 4 counties of departments
            city_id = add(f"中共{city}市委", "leadership")
            self.leadership_units.append(city_id)
            for body in CITY_BODIES:
                add(f"{city}{body}", "department", city_id)
            for c in range(4):
                county = f"{city}{COUNTY_NAMES[(CITIES.index(city) + c) % len(COUNTY_NAMES)]}{COUNTY_SUFFIX[c]}"
                county_id = add(f"{county}委", "township", city_id)
                for dept in COUNTY_DEPTS[: 6 if c < 2 else 5]:
                    add(f"{county}{dept[1:]}", "department", county_id)
        while len(rows) < 500:  # the rest: townships under the counties
            i = len(rows)
            parent = [r for r in rows if r[2] == "township" and r[3] and rows[r[3] - 1][2] == "leadership"][i % 56]
            add(f"{parent[1][:-1]}第{i}乡镇", "township", parent[0])
        paths: dict[int, str] = {}
        for uid, _name, _kind, parent in rows:
            paths[uid] = (paths[parent] if parent else "") + f"{uid:06d}/"
        self.unit_rows = rows
        self.unit_path = paths
        self.unit_kind = {r[0]: r[2] for r in rows}
        self.unit_level = {uid: path.count("/") for uid, path in paths.items()}
        copier = Copier(
            self.conn, "accounts_unit", ["id", "name", "short_name", "kind", "path", "sort_order", "is_active", "parent_id"]
        )
        for uid, name, kind, parent in rows:
            copier.add((uid, name, "", kind, paths[uid], uid, True, parent))
        copier.flush()
        self.counts["units"] = len(rows)
        self.working_units = [uid for uid, _n, kind, _p in rows if kind in ("department", "township")]
        if self.signatures is not None:
            self.signatures.unit_names = {uid: name for uid, name, _kind, _parent in rows}

    def users(self) -> None:
        rng = self.rng
        users = []  # (id, username, full_name, unit, title, clearance, roles, is_superuser)
        self.members: dict[int, list[int]] = {uid: [] for uid, *_ in self.unit_rows}

        def add(username, unit, title, clearance, roles, superuser=False):
            uid = len(users) + 1
            users.append((uid, username, person_name(rng), unit, title, clearance, roles, superuser))
            self.members[unit].append(uid)
            return uid

        add("admin", self.office_unit, "系统管理员", 3, ["administrator"], True)
        self.office_staff = [
            add(f"ducha{i:02d}", self.office_unit, "督查专员", 3 if i < 10 else 2, ["office_staff"]) for i in range(25)
        ]
        self.leaders = [
            add(
                f"lingdao{i:02d}",
                self.leadership_units[i % len(self.leadership_units)],
                "省委书记" if i == 0 else "市委书记" if i < 15 else "分管领导",
                3 if i < 30 else 2,
                ["leader"],
            )
            for i in range(60)
        ]
        for i in range(20):
            add(f"jijian{i:02d}", self.discipline_unit, "纪检监察干部", 2, ["discipline"])
            add(f"zuzhi{i:02d}", self.organization_unit, "组织干部", 2, ["organization"])
        self.heads: dict[int, int] = {}
        for uid, _name, kind, _parent in self.unit_rows:
            if kind in ("department", "township", "party_office"):
                self.heads[uid] = add(f"head{uid:03d}", uid, "单位负责人", 2, ["unit_head"])
        i = 0
        while len(users) < 5000:
            unit = self.working_units[i % len(self.working_units)]
            add(f"handler{i:04d}", unit, "承办人", 1 if i % 4 else 2, ["unit_handler"])
            i += 1
        copier = Copier(
            self.conn,
            "accounts_user",
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
                "full_name",
                "title",
                "phone",
                "clearance",
                "unit_id",
            ],
        )
        roles = Copier(self.conn, "accounts_roleassignment", ["user_id", "role"])
        joined = datetime.datetime(2022, 12, 1, 9, tzinfo=TZ)
        for uid, username, full_name, unit, title, clearance, role_list, superuser in users:
            copier.add(
                (
                    uid,
                    self.password,
                    superuser,
                    username,
                    "",
                    "",
                    f"{username}@duban.example",
                    superuser,
                    True,
                    joined,
                    full_name,
                    title,
                    f"139{uid:08d}",
                    clearance,
                    unit,
                )
            )
            for role in role_list:
                roles.add((uid, role))
        copier.flush()
        roles.flush()
        with self.conn.cursor() as cur:
            cur.executemany("UPDATE accounts_unit SET head_id = %s WHERE id = %s", [(h, u) for u, h in self.heads.items()])
        self.counts["users"] = len(users)
        self.counts["role assignments"] = roles.rows
        self.clearance = {u[0]: u[5] for u in users}

    def categories(self) -> None:
        copier = Copier(self.conn, "supervision_category", ["id", "name", "sort_order", "is_active"])
        for i, name in enumerate(CATEGORIES, start=1):
            copier.add((i, name, i, True))
        copier.flush()
        self.counts["categories"] = len(CATEGORIES)

    # Items --------------------------------------------------------------------------------

    def _moment(self, day: Date) -> datetime.datetime:
        """A working-hours moment on `day`, never after now."""
        moment = datetime.datetime.combine(day, datetime.time(8, 30), TZ) + datetime.timedelta(minutes=self.rng.randrange(0, 570))
        return min(moment, self.now - datetime.timedelta(minutes=self.rng.randrange(1, 600)))

    def history(self) -> None:
        """What the services keep for the figures (issue 14), as they would have written it: the
        deadline history (the deadline at assignment until the first approved extension, then each
        extension until the next), and the closure each failed return visit undid (the generator's
        reopened items were closed 30 days before their visit)."""
        with self.conn.cursor() as cur:
            cur.execute(
                """
                INSERT INTO supervision_deadlinespan (item_id, deadline, valid_from, valid_until, source, request_id)
                SELECT i.id, i.original_deadline, i.assigned_at,
                       (SELECT min(r.decided_at) FROM supervision_itemrequest r
                        WHERE r.item_id = i.id AND r.kind = 'extension' AND r.status = 'approved'),
                       'assigned', NULL
                FROM supervision_item i WHERE i.assigned_at IS NOT NULL AND i.original_deadline IS NOT NULL
                """
            )
            spans = cur.rowcount
            cur.execute(
                """
                INSERT INTO supervision_deadlinespan (item_id, deadline, valid_from, valid_until, source, request_id)
                SELECT r.item_id, r.requested_deadline, r.decided_at,
                       lead(r.decided_at) OVER (PARTITION BY r.item_id ORDER BY r.decided_at, r.id), 'extension', r.id
                FROM supervision_itemrequest r
                WHERE r.kind = 'extension' AND r.status = 'approved' AND r.requested_deadline IS NOT NULL
                """
            )
            spans += cur.rowcount
            cur.execute(
                "UPDATE supervision_returnvisit SET reopened_closure_at = created_at - interval '30 days' WHERE result = 'failed'"
            )
        self.counts["deadline spans"] = spans

    def ledger(self) -> None:
        rng, cal, today, now = self.rng, self.cal, self.today, self.now
        span = (today - FIRST_DAY).days
        instructions = Copier(
            self.conn,
            "supervision_instruction",
            [
                "id",
                "title",
                "kind",
                "nature",
                "issuer_name",
                "document_number",
                "issued_on",
                "text",
                "classification",
                "created_at",
                "updated_at",
                "version",
                "created_by_id",
                "issuing_leader_id",
            ],
        )
        items = Copier(
            self.conn,
            "supervision_item",
            [
                "id",
                "code",
                "title",
                "requirement",
                "deadline",
                "original_deadline",
                "urgency",
                "reporting_cycle",
                "classification",
                "status",
                "status_before_suspension",
                "progress",
                "extension_count",
                "reopen_count",
                "assigned_at",
                "closed_at",
                "created_at",
                "updated_at",
                "version",
                "category_id",
                "created_by_id",
                "instruction_id",
                "lead_unit_id",
                "owner_id",
                "deadline_time",
                "deadline_workdays",
                "warning_date",
                "listed_for_supervision_at",
                "next_reminder_at",
            ],
        )
        assignments = Copier(
            self.conn,
            "supervision_itemassignment",
            ["item_id", "unit_id", "role", "acknowledged_at", "acknowledged_by_id", "may_view_all_reports"],
        )
        requests = Copier(
            self.conn,
            "supervision_itemrequest",
            [
                "item_id",
                "kind",
                "status",
                "reason",
                "requested_deadline",
                "previous_deadline",
                "outcome",
                "requested_at",
                "decided_at",
                "decision_comment",
                "decided_by_id",
                "requested_by_id",
            ],
            # Filed before unit sign-off (rule 14): no endorsement asked for.
            constants={"needs_endorsement": False, "self_endorsed": False, "endorsement_comment": ""},
        )
        visits = Copier(
            self.conn, "supervision_returnvisit", ["item_id", "result", "findings", "visited_on", "created_at", "visited_by_id"]
        )
        explanations = Copier(
            self.conn,
            "supervision_overdueexplanation",
            [
                "id",
                "item_id",
                "unit_id",
                "deadline",
                "due_by",
                "status",
                "reason_kind",
                "text",
                "submitted_by_id",
                "submitted_at",
                "ruling",
                "ruled_by_id",
                "ruled_at",
                "ruling_comment",
                "created_at",
            ],
            # Filed before unit sign-off (rule 14): no endorsement asked for.
            constants={"needs_endorsement": False, "self_endorsed": False, "endorsement_comment": ""},
        )
        referrals = Copier(
            self.conn,
            "supervision_referral",
            ["id", "item_id", "department", "reason", "referred_at", "referred_by_id"],
            constants={"outcome": "", "outcome_text": ""},  # the receiving department has recorded no outcome yet
        )
        links = Copier(self.conn, "supervision_overdueexplanation_referrals", ["overdueexplanation_id", "referral_id"])
        if self.signatures is not None:
            self.signatures.copier = Copier(
                self.conn, "supervision_itemsignature", ["item_id", "lead_unit_id", "data", "chars", "computed_at"]
            )
        counters: dict[int, int] = {}
        # Lead units are skewed: some departments carry far more items than others.
        lead_weights = [rng.paretovariate(1.5) for _ in self.working_units]
        lead_cum = list(_accumulate(lead_weights))
        owners = {u: self.members[u] for u in self.working_units}
        states: dict[str, int] = {}
        item_id = instruction_id = explanation_id = referral_id = 0
        while item_id < self.n_items:
            instruction_id += 1
            # Volume grows over the years (×2 from 2023 to 2026): sqrt of a uniform draw skews late.
            issued = FIRST_DAY + datetime.timedelta(days=int(span * math.sqrt(rng.random())))
            kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
            nature = rng.choices(("actionable", "directive", "reference"), (75, 17, 8))[0]
            classification = rng.choices((0, 1, 2, 3), (70, 20, 8, 2))[0]
            leader = None
            issuer = ""
            if kind in ("leader_instruction", "meeting_decision") and rng.random() < 0.9:
                leader = rng.choice(self.leaders)
                classification = min(classification, self.clearance[leader])
            elif kind == "assigned_from_above":
                issuer = rng.choice(("中央督查组", "国务院督查组", "上级领导"))
            office = rng.choice(self.office_staff)
            while self.clearance[office] < classification:
                office = rng.choice(self.office_staff)
            subject = rng.choice(SUBJECTS)
            inst_created = self._moment(issued)
            self.instruction_ref = (kind, f"督字〔{issued.year}〕{instruction_id}号")
            instructions.add(
                (
                    instruction_id,
                    f"关于{subject}的{dict(leader_instruction='批示', meeting_decision='会议纪要', assigned_from_above='交办件', inspection_finding='督查通报', public_report='群众反映', deputies_suggestion='建议提案')[kind]}",
                    kind,
                    nature,
                    issuer,
                    self.instruction_ref[1],
                    issued,
                    f"请有关单位{rng.choice(TOPICS)}{subject}，按时报告结果。",
                    classification,
                    inst_created,
                    inst_created,
                    1,
                    office,
                    leader,
                )
            )
            for _ in range(min(rng.choice((1, 2, 3, 4, 5, 5, 6, 7, 8, 9)), self.n_items - item_id)):
                item_id += 1
                state, extra = self._item(
                    item_id,
                    instruction_id,
                    issued,
                    nature,
                    classification,
                    office,
                    subject,
                    lead_cum,
                    owners,
                    counters,
                    items,
                    assignments,
                    requests,
                    visits,
                )
                states[state] = states.get(state, 0) + 1
                if extra is not None and rng.random() < 0.45:  # overdue explanations on some overdue items
                    deadline, units, overdue_open = extra
                    for unit in units:
                        explanation_id += 1
                        due_by = cal.add(deadline, 3)
                        created = datetime.datetime.combine(cal.add(deadline, 1), datetime.time(9), TZ)
                        if created > now:
                            explanation_id -= 1
                            continue
                        r = rng.random()
                        head = self.heads.get(unit)
                        if due_by >= today and r < 0.6 or r < 0.15 or head is None:
                            explanations.add(
                                (
                                    explanation_id,
                                    item_id,
                                    unit,
                                    deadline,
                                    due_by,
                                    "awaiting",
                                    "",
                                    "",
                                    None,
                                    None,
                                    "",
                                    None,
                                    None,
                                    "",
                                    created,
                                )
                            )
                            continue
                        submitted = min(
                            datetime.datetime.combine(cal.add(deadline, rng.randint(1, 5)), datetime.time(15), TZ), now
                        )
                        reason = "objective" if rng.random() < 0.7 else "subjective"
                        text = "因征地拆迁等客观因素影响进度" if reason == "objective" else "工作推进不力，对时限要求重视不够"
                        ruled_at = submitted + datetime.timedelta(days=rng.randint(1, 10))
                        if r < 0.55 or ruled_at > now:
                            explanations.add(
                                (
                                    explanation_id,
                                    item_id,
                                    unit,
                                    deadline,
                                    due_by,
                                    "submitted",
                                    reason,
                                    text,
                                    head,
                                    submitted,
                                    "",
                                    None,
                                    None,
                                    "",
                                    created,
                                )
                            )
                            continue
                        ruling = "exemption" if reason == "objective" else "accountability"
                        explanations.add(
                            (
                                explanation_id,
                                item_id,
                                unit,
                                deadline,
                                due_by,
                                "ruled",
                                reason,
                                text,
                                head,
                                submitted,
                                ruling,
                                rng.choice(self.office_staff),
                                ruled_at,
                                "经核实，予以认定",
                                created,
                            )
                        )
                        if ruling == "accountability" and overdue_open:
                            referral_id += 1
                            referrals.add(
                                (
                                    referral_id,
                                    item_id,
                                    "discipline",
                                    "超期未办结且无正当理由",
                                    ruled_at,
                                    rng.choice(self.office_staff),
                                )
                            )
                            links.add((explanation_id, referral_id))
                            break  # one referral per (item, department)
            if instruction_id % 20000 == 0:
                print(f"  … {item_id:,} items", flush=True)
        for copier in (instructions, items, assignments, requests, visits, explanations, referrals, links):
            copier.flush()
        if self.signatures is not None:
            self.counts["item signatures"] = self.signatures.finish()
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO supervision_yearlycounter (series, year, last_number) VALUES ('ledger', %s, %s)",
                sorted(counters.items()),
            )
        self.counts.update(
            {
                "instructions": instructions.rows,
                "items": items.rows,
                "assignments": assignments.rows,
                "requests (extensions)": requests.rows,
                "return visits": visits.rows,
                "overdue explanations": explanations.rows,
                "referrals": referrals.rows,
            }
        )
        self.states = states

    def _item(
        self,
        item_id,
        instruction_id,
        issued,
        nature,
        classification,
        office,
        subject,
        lead_cum,
        owners,
        counters,
        items,
        assignments,
        requests,
        visits,
    ):
        """One item with its assignments and history; returns (state label, explanation info or None)."""
        rng, cal, today, now = self.rng, self.cal, self.today, self.now
        created_day = min(issued + datetime.timedelta(days=rng.choice((0, 0, 1, 1, 2, 3, 5))), today)
        created_at = self._moment(created_day)
        created_local = created_at.astimezone(TZ).date()
        year = created_local.year
        counters[year] = counters.get(year, 0) + 1
        code = f"DB-{year}-{counters[year]:04d}"
        lead = self.working_units[bisect.bisect_left(lead_cum, rng.random() * lead_cum[-1])]
        owner = rng.choice(owners[lead])
        while self.clearance[owner] < 1 and classification:
            owner = rng.choice(owners[lead])
        supporting = set()
        for _ in range(rng.choices((0, 1, 2, 3), (40, 35, 17, 8))[0]):
            unit = rng.choice(self.working_units)
            if unit != lead:
                supporting.add(unit)
        urgency = rng.choices(("normal", "urgent", "extra_urgent"), (75, 18, 7))[0]
        category = rng.randint(1, len(CATEGORIES)) if rng.random() < 0.92 else None
        cycle = rng.choice(("none", "none", "weekly", "biweekly", "monthly", "quarterly"))
        title, requirement = self.words.matter(subject, rng.choice(TOPICS))
        if nature == "reference":
            workdays = None
        else:
            workdays = rng.choice(
                {"normal": (10, 15, 20, 30, 45, 60, 90), "urgent": (3, 5, 10), "extra_urgent": (1, 2, 3)}[urgency]
            )
        deadline_time = datetime.time(18, 0) if urgency == "extra_urgent" and workdays and rng.random() < 0.5 else None
        deadline_workdays = workdays if workdays and rng.random() < 0.3 else None
        share, few = self.thresholds[urgency]

        row = dict(
            status="draft",
            before_suspension="",
            progress=0,
            extensions=0,
            reopens=0,
            assigned_at=None,
            closed_at=None,
            deadline=None,
            original=None,
            warning=None,
            listed=None,
            next_reminder=None,
            version=1,
            updated=created_at,
        )
        ack_at = None
        explanation = None
        recent = (today - created_local).days < 30
        if rng.random() < (0.30 if recent else 0.004):
            # A draft: registered, not yet assigned; a date deadline may already be set.
            state = "draft"
            if workdays and deadline_workdays is None:
                row["deadline"] = cal.add(created_local, workdays + 2)
        else:
            assigned_at = min(
                self._moment(cal.add(created_local, rng.choice((0, 1, 1, 2)) or 1) if rng.random() < 0.7 else created_local),
                now - datetime.timedelta(minutes=5),
            )
            assigned_at = max(assigned_at, created_at)
            assigned_on = assigned_at.astimezone(TZ).date()
            row["assigned_at"] = assigned_at
            deadline = cal.add(assigned_on, workdays) if workdays else None
            if deadline is not None and deadline_time is not None and deadline == assigned_on:
                deadline_time = None
            row["deadline"] = row["original"] = deadline
            row["version"] = 2
            ack_at = min(assigned_at + datetime.timedelta(hours=rng.randint(1, 40)), now)
            # The fate of the item: when (if ever) the unit gets it done, relative to the deadline.
            extensions = 0
            if deadline is not None and rng.random() < 0.12:
                extensions = 1 if rng.random() < 0.8 else 2
                current = deadline
                requested = assigned_at
                for _ in range(extensions):
                    requested = min(datetime.datetime.combine(cal.add(current, -rng.randint(1, 3)), datetime.time(10), TZ), now)
                    if requested <= assigned_at:
                        requested = min(assigned_at + datetime.timedelta(hours=2), now)
                    new = cal.add(current, rng.choice((5, 10, 15, 20, 30)))
                    decided = min(requested + datetime.timedelta(hours=rng.randint(2, 48)), now)
                    requests.add(
                        (
                            item_id,
                            "extension",
                            "approved",
                            "因客观原因申请延期",
                            new,
                            current,
                            "",
                            requested,
                            decided,
                            "同意延期",
                            rng.choice(self.office_staff),
                            owner,
                        )
                    )
                    current = new
                    row["version"] += 2
                row["deadline"] = deadline = current
                row["extensions"] = extensions
                deadline_time = None  # an extended item is due by the end of the new day
            if deadline is not None:
                row["warning"] = cal.warning_date(assigned_on, deadline, share, few)
            fate = rng.random()
            if fate < 0.02:
                state = "cancelled"
                row["status"] = "cancelled"
                row["version"] += 2
            elif fate < 0.035:
                state = "suspended"
                row["status"] = "suspended"
                row["before_suspension"] = rng.choice(("acknowledged", "in_progress"))
                row["progress"] = rng.randint(10, 60)
                row["version"] += 3
            else:
                if deadline is None:
                    done_day = cal.add(assigned_on, rng.randint(5, 120)) if rng.random() < 0.8 else None
                else:
                    length = max(1, (deadline - assigned_on).days)
                    r = rng.random()
                    if r < 0.74:
                        done_day = assigned_on + datetime.timedelta(days=rng.randint(max(1, length // 3), length))
                    elif r < 0.93:
                        done_day = deadline + datetime.timedelta(days=int(rng.expovariate(1 / 12)) + 1)
                    else:
                        done_day = None  # stalls: open until someone acts
                closed = done_day is not None and done_day < today
                if closed:
                    closed_at = self._moment(done_day)
                    if closed_at <= assigned_at:
                        closed_at = min(assigned_at + datetime.timedelta(hours=3), now)
                    row["status"], row["closed_at"], row["progress"] = "closed", closed_at, 100
                    row["version"] += 4
                    if deadline is not None and done_day > deadline:
                        state = "closed late"
                        if extensions == 0 and rng.random() < 0.25:
                            explanation = (deadline, [lead], False)
                    else:
                        state = "closed on time"
                    # Return visits some weeks after closure.
                    visit_day = done_day + datetime.timedelta(days=rng.randint(20, 60))
                    if visit_day < today and rng.random() < 0.45:
                        visitor = rng.choice(self.office_staff)
                        if rng.random() < 0.92:
                            visits.add((item_id, "passed", "整改到位，群众满意", visit_day, self._moment(visit_day), visitor))
                            row["status"] = "verified"
                            state += ", verified"
                        else:
                            visits.add((item_id, "failed", "问题反弹，需重新整改", visit_day, self._moment(visit_day), visitor))
                            row["reopens"] = 1
                            row["closed_at"] = None
                            row["status"] = "in_progress"
                            row["progress"] = rng.randint(20, 80)
                            row["version"] += 1
                            if deadline is not None and rng.random() < 0.5:  # a fresh limit for the rectification
                                row["deadline"] = deadline = cal.add(visit_day, 20)
                                deadline_time = None
                                row["listed"] = None
                                row["warning"] = cal.warning_date(assigned_on, deadline, share, few)
                            again = visit_day + datetime.timedelta(days=rng.randint(5, 40))
                            if again < today and rng.random() < 0.7:
                                row["status"], row["closed_at"], row["progress"] = "closed", self._moment(again), 100
                                row["version"] += 2
                                state = "reopened, closed again"
                            else:
                                state = "reopened, open"
                if row["status"] == "in_progress" or not closed:
                    if not closed:
                        elapsed = (today - assigned_on).days
                        row["status"] = rng.choices(
                            ("assigned", "acknowledged", "in_progress", "pending_review"),
                            (2, 3, 10, 2) if elapsed > 3 else (6, 3, 1, 0),
                        )[0]
                        row["progress"] = 0 if row["status"] == "assigned" else rng.randint(5, 90)
                        row["version"] += {"assigned": 0, "acknowledged": 1, "in_progress": 2, "pending_review": 3}[row["status"]]
                    overdue = deadline is not None and (
                        deadline < today
                        or (deadline == today and deadline_time is not None and deadline_time < now.astimezone(TZ).time())
                    )
                    if row["reopens"] == 0:
                        state = "open, no deadline" if deadline is None else "open, running"
                    if overdue:
                        state = "reopened, overdue" if row["reopens"] else "overdue open"
                        if cal.between(deadline, today) >= 10 and rng.random() < 0.5:
                            row["listed"] = datetime.datetime.combine(cal.add(deadline, 10), datetime.time(9), TZ)
                        if cal.between(deadline, today) >= 1:
                            explanation = (deadline, [lead, *sorted(supporting)], True)
                    row["next_reminder"] = now + datetime.timedelta(minutes=rng.randint(30, 3 * 24 * 60))
            if row["status"] == "assigned":
                ack_at = None
            last = max(t for t in (created_at, assigned_at, row["closed_at"], ack_at) if t is not None)
            row["updated"] = last
        items.add(
            (
                item_id,
                code,
                title,
                requirement,
                row["deadline"],
                row["original"],
                urgency,
                cycle,
                classification,
                row["status"],
                row["before_suspension"],
                row["progress"],
                row["extensions"],
                row["reopens"],
                row["assigned_at"],
                row["closed_at"],
                created_at,
                row["updated"],
                row["version"],
                category,
                office,
                instruction_id,
                lead,
                owner,
                deadline_time if row["deadline"] is not None else None,
                deadline_workdays,
                row["warning"],
                row["listed"],
                row["next_reminder"],
            )
        )
        if self.signatures is not None:
            self.signatures.add(item_id, lead, title, requirement, sorted(supporting), *self.instruction_ref)
        assignments.add((item_id, lead, "lead", ack_at, owner if ack_at else None, False))
        for unit in sorted(supporting):
            head = self.heads.get(unit)
            acked = ack_at and head and rng.random() < 0.9
            assignments.add((item_id, unit, "supporting", ack_at if acked else None, head if acked else None, rng.random() < 0.1))
        return state, explanation


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


# ---------------------------------------------------------------------------------------------

# The foreign keys and the invariants the services keep, checked in bulk after the load.
CHECKS = {
    "item.instruction": "SELECT count(*) FROM supervision_item i LEFT JOIN supervision_instruction s ON s.id = i.instruction_id WHERE s.id IS NULL",
    "item.lead_unit": "SELECT count(*) FROM supervision_item i LEFT JOIN accounts_unit u ON u.id = i.lead_unit_id WHERE u.id IS NULL",
    "item.owner in lead unit": "SELECT count(*) FROM supervision_item i LEFT JOIN accounts_user u ON u.id = i.owner_id "
    "WHERE u.id IS NULL OR u.unit_id <> i.lead_unit_id",
    "item.category": "SELECT count(*) FROM supervision_item i WHERE category_id IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM supervision_category c WHERE c.id = i.category_id)",
    "one lead assignment = lead_unit": "SELECT count(*) FROM supervision_item i WHERE NOT EXISTS (SELECT 1 FROM "
    "supervision_itemassignment a WHERE a.item_id = i.id AND a.role = 'lead' AND a.unit_id = i.lead_unit_id)",
    "assignment.item/unit": "SELECT count(*) FROM supervision_itemassignment a LEFT JOIN supervision_item i ON i.id = a.item_id "
    "LEFT JOIN accounts_unit u ON u.id = a.unit_id WHERE i.id IS NULL OR u.id IS NULL",
    "classification ≥ instruction's": "SELECT count(*) FROM supervision_item i JOIN supervision_instruction s "
    "ON s.id = i.instruction_id WHERE i.classification < s.classification",
    "closed_at only when done": "SELECT count(*) FROM supervision_item WHERE (closed_at IS NOT NULL) <> (status IN ('closed', 'verified'))",
    "original_deadline set at assignment": "SELECT count(*) FROM supervision_item WHERE (original_deadline IS NOT NULL "
    "AND assigned_at IS NULL) OR (assigned_at IS NOT NULL AND deadline IS NOT NULL AND original_deadline IS NULL)",
    "deadline_time only 特急": "SELECT count(*) FROM supervision_item WHERE deadline_time IS NOT NULL AND urgency <> 'extra_urgent'",
    "next_reminder_at only open": "SELECT count(*) FROM supervision_item WHERE (next_reminder_at IS NOT NULL) <> "
    "(status IN ('assigned', 'acknowledged', 'in_progress', 'pending_review'))",
    "warning_date within (assigned, deadline]": "SELECT count(*) FROM supervision_item WHERE status <> 'draft' AND deadline IS NOT NULL "
    "AND (warning_date IS NULL OR warning_date > deadline OR warning_date < (assigned_at AT TIME ZONE 'Asia/Shanghai')::date)",
    "explanation.item/unit": "SELECT count(*) FROM supervision_overdueexplanation e LEFT JOIN supervision_item i ON i.id = e.item_id "
    "LEFT JOIN accounts_unit u ON u.id = e.unit_id WHERE i.id IS NULL OR u.id IS NULL",
}


def check_integrity(cur) -> dict[str, int]:
    broken = {}
    for name, sql in CHECKS.items():
        cur.execute(sql)
        n = cur.fetchone()[0]
        if n:
            broken[name] = n
    return broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_URL, help="postgres://…/duban_bench_… (dropped and re-created)")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--signatures",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="store every item's matching signature (ItemSignature), as the item services do (default: yes)",
    )
    parser.add_argument("--signature-workers", type=int, default=2, help="processes computing signatures (0: in this one)")
    args = parser.parse_args()

    started = time.perf_counter()
    os.environ["DATABASE_URL"] = args.database
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    recreate_database(args.database)

    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from supervision import warning_dates, workcalendar
    from supervision.models import CalendarDay

    call_command("migrate", verbosity=0)
    print(f"migrated {args.database.rsplit('/', 1)[1]} in {time.perf_counter() - started:.1f} s", flush=True)

    exceptions = dict(CalendarDay.objects.values_list("date", "is_workday"))
    calendar = Calendar(exceptions, Date(2022, 1, 1), Date(2028, 12, 31))
    table = warning_dates.thresholds()
    # The fast copy must agree with the real rule: check it on a sample against warning_dates.warning_date_for.
    check = random.Random(1)
    for _ in range(300):
        start = FIRST_DAY + datetime.timedelta(days=check.randrange(0, 1300))
        urgency = check.choice(list(table))
        deadline = calendar.add(start, check.choice((1, 2, 3, 5, 10, 20, 45, 90)))
        real = warning_dates.warning_date_for(start=start, deadline=deadline, urgency=urgency, table=table)
        fast = calendar.warning_date(start, deadline, *table[urgency])
        assert real == fast, (start, deadline, urgency, real, fast)
        assert workcalendar.add_workdays(start, 7) == calendar.add(start, 7)
        assert workcalendar.add_workdays(deadline, -3) == calendar.add(deadline, -3)
    connection.close()

    import psycopg

    now = timezone.now()
    sink = None
    if args.signatures:
        # Forked before any connection is open (Django's is closed above).
        import multiprocessing

        workers = (
            multiprocessing.get_context("fork").Pool(args.signature_workers, _warm_worker) if args.signature_workers else None
        )
        if workers is None:
            _warm_worker()
        sink = SignatureSink(workers, now)
    with psycopg.connect(args.database.replace("postgres://", "postgresql://")) as conn:
        # Foreign-key triggers off while loading (the rows are built consistent; checked below):
        # per-row deferred RI checks would cost more than the load itself.
        conn.execute("SET session_replication_role = replica")
        gen = Generator(
            conn,
            items=args.items,
            seed=args.seed,
            now=now,
            thresholds=table,
            calendar=calendar,
            password=make_password("duban2026"),
            signatures=sink,
        )
        for step in (gen.units, gen.users, gen.categories, gen.ledger, gen.history):
            t = time.perf_counter()
            step()
            print(f"{step.__name__}: {time.perf_counter() - t:.1f} s", flush=True)
        with conn.cursor() as cur:
            for tbl in (
                "accounts_unit",
                "accounts_user",
                "supervision_category",
                "supervision_instruction",
                "supervision_item",
                "supervision_overdueexplanation",
                "supervision_referral",
            ):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{tbl}', 'id'), GREATEST(1, (SELECT max(id) FROM {tbl})))")
            # The duplicate pool (pool_until, a placeholder signature per item without one, the
            # characters' index), which the triggers switched off above keep in production: the
            # migration's SQL.
            t = time.perf_counter()
            cur.execute(importlib.import_module("supervision.migrations.0029_pool_chars_backfill").BACKFILL)
            print(f"duplicate pool columns: {time.perf_counter() - t:.1f} s", flush=True)
            conn.execute("SET session_replication_role = DEFAULT")
            broken = check_integrity(cur)
        if broken:
            raise SystemExit(f"integrity check failed: {broken}")
        conn.commit()
    t = time.perf_counter()
    with psycopg.connect(args.database.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")  # sets the visibility map too, as autovacuum would in production
    print(f"vacuum analyze: {time.perf_counter() - t:.1f} s")
    if sink is not None:
        print(
            f"signatures: {sink.cpu:.1f} s of CPU in {args.signature_workers or 1} process(es),"
            f" {sink.waited:.1f} s waited for them after the ledger"
        )
        t = time.perf_counter()
        differ = check_signatures(300, args.seed)
        if differ:
            raise SystemExit(f"{differ} of 300 generated signatures differ from signatures_refresh's")
        print(f"signatures: 300 sampled equal signatures_refresh's ({time.perf_counter() - t:.1f} s)")
    print()
    for name, n in gen.counts.items():
        print(f"{name:>24}: {n:>10,}")
    print()
    print("item states:")
    for state, n in sorted(gen.states.items(), key=lambda kv: -kv[1]):
        print(f"{state:>32}: {n:>9,}  {n / args.items:6.1%}")
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
