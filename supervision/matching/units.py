"""One key for the many ways people write a unit's name.

「县发改委」, 「县发展和改革委员会」, 「发改委」 and 「云溪县发展和改革委员会」 are one body; so are
「纸房镇」, 「纸房镇人民政府」 and 「中共纸房镇委员会」 for the purpose of not chasing it twice. The key is
the body's canonical name without the county (发展和改革委员会, 纸房镇). Names not in the table fall back to
a normalised form: county and level prefix removed, 「人民政府」/「办事处」 and the like dropped.
"""

from __future__ import annotations

import functools
import re
import unicodedata

HAN = r"\u4e00-\u9fff"

# canonical name → the ways people write it (without a county prefix). Common county-level bodies.
BODIES: dict[str, tuple[str, ...]] = {
    "县委办公室": ("县委办公室", "县委办", "党委办公室", "党委办", "委办"),
    "县政府办公室": ("县政府办公室", "县政府办", "政府办公室", "政府办", "人民政府办公室", "县府办", "政府办公厅"),
    "县委组织部": ("县委组织部", "组织部", "党委组织部"),
    "县委宣传部": ("县委宣传部", "宣传部", "党委宣传部"),
    "县委统战部": ("县委统战部", "统战部", "统一战线工作部"),
    "县委政法委": ("县委政法委员会", "县委政法委", "政法委", "政法委员会"),
    "纪委监委": ("纪委监委", "纪委", "监委", "纪律检查委员会", "监察委员会", "纪检监察委员会", "纪委监察委"),
    "县委编办": ("县委编办", "编办", "机构编制委员会办公室", "编委办"),
    "县委网信办": ("县委网信办", "网信办", "网络安全和信息化委员会办公室"),
    "县委巡察办": ("县委巡察办", "巡察办", "巡察工作领导小组办公室"),
    "县委政研室": ("县委政研室", "政研室", "政策研究室"),
    "发展和改革委员会": (
        "发展和改革委员会",
        "发展改革委员会",
        "发展和改革委",
        "发展改革委",
        "发改委",
        "发展和改革局",
        "发展改革局",
        "发改局",
    ),
    "教育局": ("教育局", "教育和体育局", "教育体育局", "教体局", "教育科技局", "教科局", "教育委员会", "教委"),
    "科学技术局": ("科学技术局", "科技局", "科学技术和工业信息化局", "科工信局"),
    "工业和信息化局": (
        "工业和信息化局",
        "工业信息化局",
        "工信局",
        "经济和信息化局",
        "经济信息化局",
        "经信局",
        "工业和信息化委员会",
        "经信委",
        "工信委",
    ),
    "公安局": ("公安局", "交警大队", "公安交警大队", "交通警察大队", "派出所"),
    "民政局": ("民政局",),
    "司法局": ("司法局",),
    "财政局": ("财政局",),
    "人力资源和社会保障局": ("人力资源和社会保障局", "人力资源社会保障局", "人社局", "劳动保障监察大队", "劳动监察大队"),
    "自然资源和规划局": (
        "自然资源和规划局",
        "自然资源规划局",
        "自然资源局",
        "资规局",
        "自规局",
        "国土资源局",
        "国土局",
        "国土资源和规划局",
    ),
    "生态环境局": ("生态环境局", "生态环境分局", "环境保护局", "环保局", "生态环境保护局"),
    "住房和城乡建设局": (
        "住房和城乡建设局",
        "住房城乡建设局",
        "住房和城乡建设委员会",
        "住房城乡建设委员会",
        "住建局",
        "住建委",
        "城乡建设局",
        "建设局",
        "住房和城乡规划建设局",
        "住建规划局",
    ),
    "交通运输局": ("交通运输局", "交通局", "交通运输委员会", "交通委", "公路段", "公路管理段"),
    "水利局": ("水利局", "水务局", "水利和水务局", "水利水务局"),
    "农业农村局": ("农业农村局", "农业局", "农业农村委员会", "农业农村委", "农委", "农牧局", "农业农村和水利局"),
    "商务局": ("商务局", "商务和经济合作局", "商务和投资促进局"),
    "文化和旅游局": (
        "文化和旅游局",
        "文化旅游局",
        "文旅局",
        "文化广电和旅游局",
        "文化广电旅游局",
        "文广旅局",
        "文化广电新闻出版和旅游局",
        "文广新旅局",
        "文化体育和旅游局",
        "文体旅局",
        "文化馆",
    ),
    "卫生健康委员会": (
        "卫生健康委员会",
        "卫生健康委",
        "卫健委",
        "卫生健康局",
        "卫健局",
        "卫生和计划生育委员会",
        "卫计委",
        "卫生局",
    ),
    "退役军人事务局": ("退役军人事务局", "退役军人局", "退役军人服务中心"),
    "应急管理局": ("应急管理局", "应急局", "安全生产监督管理局", "安监局", "安委办", "安全生产委员会办公室"),
    "审计局": ("审计局",),
    "市场监督管理局": ("市场监督管理局", "市场监管局", "市监局", "市场监管委", "食品药品监督管理局", "食药监局", "工商局"),
    "统计局": ("统计局",),
    "医疗保障局": ("医疗保障局", "医保局"),
    "林业局": ("林业局", "林业和草原局", "林草局", "林业和园林局"),
    "城市管理局": (
        "城市管理局",
        "城管局",
        "城市管理综合执法局",
        "城市管理和综合执法局",
        "城市管理执法局",
        "城管执法局",
        "城管综合执法局",
        "综合行政执法局",
        "城管委",
        "城市管理委员会",
    ),
    "政务服务和数据管理局": (
        "政务服务和数据管理局",
        "政务服务数据管理局",
        "政数局",
        "政务服务管理局",
        "政务服务中心",
        "行政审批服务局",
        "行政审批局",
        "数据局",
        "大数据局",
        "大数据中心",
    ),
    "乡村振兴局": ("乡村振兴局", "扶贫开发办公室", "扶贫办", "乡村振兴服务中心"),
    "信访局": ("信访局", "信访办", "人民来访接待中心"),
    "投资促进局": ("投资促进局", "投促局", "招商局", "招商引资局", "投资促进中心", "招商服务中心"),
    "粮食和物资储备局": ("粮食和物资储备局", "粮储局", "粮食局"),
    "民族宗教事务局": ("民族宗教事务局", "民宗局"),
    "国有资产监督管理": ("国有资产监督管理局", "国资局", "国资办", "国有资产监督管理委员会", "国资委"),
    "金融工作局": ("金融工作局", "金融办", "金融工作办公室", "地方金融监督管理局", "金融局"),
    "机关事务管理局": ("机关事务管理局", "机关事务服务中心", "机关事务局", "机关事务中心"),
    "体育局": ("体育局", "体育运动发展中心"),
    "档案馆": ("档案馆", "档案局"),
    "消防救援大队": ("消防救援大队", "消防大队", "消防救援局", "消防救援支队"),
    "税务局": ("税务局",),
    "气象局": ("气象局",),
    "供销合作社": ("供销合作社联合社", "供销合作社", "供销社", "供销联社"),
    "人民法院": ("人民法院", "法院"),
    "人民检察院": ("人民检察院", "检察院"),
    "融媒体中心": ("融媒体中心", "融媒中心"),
    "住房公积金管理": ("住房公积金管理中心", "公积金中心", "住房公积金中心", "住房公积金管理部"),
    "工业园区管委会": (
        "工业园区管委会",
        "工业园区管理委员会",
        "园区管委会",
        "经济开发区管委会",
        "经济技术开发区管委会",
        "开发区管委会",
        "开发区管理委员会",
        "高新区管委会",
        "产业园区管委会",
    ),
    "总工会": ("总工会", "工会"),
    "共青团县委": ("团县委", "共青团县委", "团委", "共青团委员会"),
    "妇女联合会": ("妇女联合会", "妇联"),
    "残疾人联合会": ("残疾人联合会", "残联"),
    "科学技术协会": ("科学技术协会", "科协"),
    "红十字会": ("红十字会",),
    "人民武装部": ("人民武装部", "人武部"),
    "供电公司": ("供电公司", "供电局", "国网供电公司", "供电分公司"),
    "住房征收": ("房屋征收办", "房屋征收与补偿办公室", "征收办", "房屋征收管理办公室"),
}

_ALIASES: dict[str, str] = {alias: key for key, aliases in BODIES.items() for alias in aliases}
# Longest first, so 「公安局交警大队」 is read as 公安局 and 「县住房和城乡建设局」 as the whole name.
_ALIASES_BY_LENGTH = sorted(_ALIASES, key=len, reverse=True)

_BRACKETS = re.compile(r"[（(][^）)]*[）)]")
_NOISE = re.compile(rf"[^0-9A-Za-z{HAN}]+")
_PARTY = re.compile(r"^(?:中国共产党|中共)")
# 「国家税务总局云溪县税务局」, 「市生态环境局云溪分局」: a vertically managed body's branch in the county.
_STATE_PREFIX = re.compile(r"^国家[\u4e00-\u9fff]{2,8}?总局")
_BRANCH = re.compile(rf"^(?:[省市州])?([{HAN}]{{2,12}}?局)[{HAN}]{{1,4}}?(?:县|区|市)?分局$")
# A county, district or city name in front: 云溪县…, 云溪…
_PLACE_PREFIX = re.compile(rf"^[{HAN}]{{1,5}}?(?:自治县|县|区|市|旗)(?=[{HAN}]{{2,}})")
_TOWNSHIP = re.compile(rf"^([{HAN}]{{1,6}}?(?:乡|镇|街道))(?:人民政府|政府|党委|委员会|党工委|办事处|便民服务中心)?$")
_STREET_OFFICE = re.compile(rf"^([{HAN}]{{2,4}}?)(?:街道办事处|街道办|办事处)$")
_GOVERNMENT_SUFFIX = re.compile(r"(?:人民政府|政府)$")


# Unit names inside a requirement text (「请县医疗保障局调查核实」) say who handles the matter, not what it
# is; units are compared on their own, so the text is read without them.
_IN_TEXT = re.compile(r"[县市区]?(?:" + "|".join(re.escape(alias) for alias in _ALIASES_BY_LENGTH if len(alias) >= 3) + ")")


def strip_unit_names(text: str) -> str:
    """The text without the names of known bodies (townships stay: they are places too)."""
    return _IN_TEXT.sub(" ", text)


def _clean(name: str) -> str:
    name = unicodedata.normalize("NFKC", name or "").strip()
    name = _BRACKETS.sub("", name)
    return _NOISE.sub("", name)


def _lookup(name: str) -> str | None:
    if name in _ALIASES:
        return _ALIASES[name]
    for level in ("县", "区", "市", "省", "旗"):  # 县住建局, 区城管局
        if name.startswith(level) and name[1:] in _ALIASES:
            return _ALIASES[name[1:]]
    return None


def _township(name: str) -> str | None:
    """「纸房镇人民政府」→纸房镇, 「东关街道办事处」/「东关办事处」→东关街道."""
    if match := _STREET_OFFICE.match(name):
        return match.group(1) + "街道"
    if match := _TOWNSHIP.match(name):
        township = match.group(1)
        if township not in ("乡", "镇", "街道") and township not in ("县乡", "城镇", "乡镇"):
            return township
    return None


def _sub_unit(name: str) -> str | None:
    """「公安局交警大队」→公安局: a known body followed by one of its own offices."""
    for alias in _ALIASES_BY_LENGTH:
        if len(alias) >= 3 and name.startswith(alias) and len(name) > len(alias):
            return _ALIASES[alias]
    return None


@functools.lru_cache(maxsize=4096)
def unit_key(name: str) -> str:
    """The key of a unit as people write it: equal keys mean the same body.

    >>> unit_key("县发改委") == unit_key("云溪县发展和改革委员会") == unit_key("发改委")
    True
    """
    name = _PARTY.sub("", _clean(name))
    if not name:
        return ""
    name = _STATE_PREFIX.sub("", name)
    candidates = [name]
    if match := _BRANCH.match(name):
        candidates.append(match.group(1))
    stripped = _PLACE_PREFIX.sub("", name)
    if stripped != name:
        candidates.append(stripped)
    for candidate in candidates:
        if found := _lookup(candidate):
            return found
    for candidate in candidates:
        if found := _township(candidate):
            return found
    for candidate in candidates:
        if found := _sub_unit(candidate) or _sub_unit(candidate[1:]):
            return found
    # Unknown body: the name without the county, the level marker and 「人民政府」. A leading 市 stays
    # when it starts a word (市场…, 市政…).
    fallback = _GOVERNMENT_SUFFIX.sub("", stripped) or stripped
    if fallback[1:2] == "委":  # 县委督查室: a party body, named with its level
        return fallback
    if fallback[:1] in ("县", "区", "省", "旗") and len(fallback) > 2:
        fallback = fallback[1:]
    elif fallback[:1] == "市" and fallback[1:2] not in ("场", "政", "民", "容") and len(fallback) > 2:
        fallback = fallback[1:]
    return fallback
