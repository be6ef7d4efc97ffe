"""What makes two similar-sounding items different matters: places, named objects, years, phases.

「城北河道整治」 and 「城南河道整治」 differ by one character and are two matters; so are 一期/二期,
第一批/第二批, 2026年/2027年目标, 黄庄乡/纸房镇 and 宏达化工/鑫源矿业. Each is pulled out of normalised
text as (kind, value); two items that both name something of a kind and share none of it conflict.
The patterns are about how Chinese names are built (a name, then 乡/镇/路/河/小学/有限公司…), not
about any particular county.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from supervision.matching.text import CN_NUMBER, HAN, cn_to_int, known_word, word_starts

# Kinds, with the words used in reasons. Places and named objects, then periods and sequence numbers.
KIND_LABELS: dict[str, str] = {
    "township": "乡镇街道",
    "village": "村社区",
    "road": "道路",
    "water": "河湖",
    "area": "片区方位",
    "section": "路段",
    "school": "学校",
    "hospital": "医疗机构",
    "estate": "小区",
    "market": "市场",
    "firm": "企业",
    "code": "编号",
    "year": "年份",
    "text_year": "年份",
    "phase": "期次",
    "batch": "批次",
    "round": "轮次",
    "ordinal": "序号",
    "quarter": "季度",
    "half": "半年",
    "month": "月份",
    "season": "季节",
    "festival": "节日",
}
PLACE_KINDS = frozenset({"township", "village", "road", "water", "area", "section", "estate", "market"})
NAME_KINDS = PLACE_KINDS | {"school", "hospital", "firm"}
PERIOD_KINDS = frozenset({"year", "quarter", "half", "month", "season", "festival"})

# Modifiers that stand between a name and its suffix (东关「农贸」市场, 黄庄乡「中心」小学): skipped
# to reach the name; alone they name nothing.
_MODIFIERS = frozenset(
    """
    中心 农贸 批发 老旧 安置 居民 湿地 产业 工业 商业 城区 城镇 农村 乡村 示范 公益性 区域性 病险 小型 中型
    新建 一所 各 全 本 该 所 多个 部分 辖区 周边 沿线 沿岸 重点 省级 市级 县级
    """.split()
)
# Names that are common nouns (「配套」道路, 「背街」小巷, 「断头」路) and words that start a phrase rather
# than a name (「督查发现」纸房镇…): a name never begins with them.
_NOT_NAMES = frozenset(
    """
    道 公 马 铁 线 思 出 网 电 水 门 套 沿 进 村 小 大 主 支 背街 断头 配套 主干 干 城市 全县 各 该 本 其他
    河 江 山 运 护 跨 病险 城 乡 集 重 下 返 家 全 行政 自然 试点 重点 中小 学 中 幼 县 市 区 省
    在 对 到 为 由 请 与 和 及 将 把 向 给 从 于 是 的 等 有 无 已 未 要 由于 关于 按照 根据 经 据
    发现 反映 举报 排查 检查 推进 加快 解决 拆除 完成 新建 建设 开展 治理 督查 核实 议定 批示 交办 转办
    督察 反馈 要求 负责 协调 组织 实施 落实 加强 规范 清理 打通 优化 增设 增建 修复 改造 提升 硬化
    群众 网民 居民 市民 村民 家长 企业 部分 多个 一所 一处 一个 各类 所有 辖区 周边 城区 县城 老城区
    街道 振兴 民办 公办
    """.split()
)

# A name's last character and the suffix that make a common noun: 「人民路道路」 holds no second road.
_GENERIC_TAILS = frozenset(
    """
    道路 公路 马路 铁路 线路 村路 小路 大路 村道 河道 城镇 乡镇 集镇 村镇 小镇 重镇 城乡 下乡 返乡 家乡
    农村 乡村 渔村 山村 新村 社区 小区 学校 中学 小学 医院
    """.split()
)

# 「5座水库」, 「一处小区」: counted things, not names.
_MEASURES = frozenset("座个处条所家项批期次号名户间栋")

# Each kind: a suffix that ends a name. The name itself is read back from jieba's word boundaries.
_SUFFIXED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("township", re.compile(r"(街道|苏木|乡(?![村镇土贤亲情愁])|镇(?![区上里政党街长]))")),
    ("village", re.compile(r"(社区|嘎查|村(?![民组级庄道干委两部集落务规居]))")),
    ("road", re.compile(r"(大道|大街|路(?![灯面口况段基网线径程过上边费桥由])|巷(?![道子]))")),
    ("water", re.compile(r"(水库|河(?![道段长流岸堤滩口湖南北东西边路街])|江(?![河湖南北])|湖(?![泊区南北])|渠(?![道]))")),
    ("school", re.compile(r"(小学|中学|幼儿园|职业中专|中专|职中|技校)")),
    ("hospital", re.compile(r"(医院|卫生院|敬老院|养老院|福利院)")),
    ("estate", re.compile(r"(小区|花园|家园|新村)")),
    ("market", re.compile(r"(市场(?![监管主体化经营秩序准入价格需求])|商场|商贸城)")),
    ("firm", re.compile(r"(股份有限公司|有限责任公司|有限公司|集团公司|集团)")),
)
_NAME_SPAN = {"firm": 4}  # characters a name may take before its suffix; 3 otherwise
# 城北/城南, 东城/西城, 城东片区.
_AREA = re.compile(r"城([东西南北])(?!门|墙)|([东西南北])城(?!墙|门|市|乡|镇|区)|([东西南北])片区")
# 人民路北段, 迎宾大道东延, 河东岸.
_SECTION = re.compile(r"([东西南北中上下左右])(段|延|侧|岸|线|环|片)(?![区位])")
_ROAD_CODE = re.compile(r"(?<![0-9a-z])([gsxyzc]\d{2,4})(?![0-9])")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?:\s*[-至到~]\s*(20\d{2}))?\s*年(?!\s*\d{1,2}\s*月\s*\d{1,2}\s*日)")
_NUM = rf"[0-9{CN_NUMBER}]+"
_ORDINAL = re.compile(rf"第({_NUM})([{HAN}])")
_PHASE = re.compile(rf"(?<![第{CN_NUMBER}0-9])({_NUM})期")
_FIRST = re.compile(r"首(批|期|轮)")
_QUARTER = re.compile(r"(?<![0-9])([1-4一二三四])季度")
_HALF = re.compile(r"([上下])半年")
_MONTH = re.compile(r"(?<![0-9])(1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九])月份")
_SEASON = re.compile(r"(春夏|秋冬|春|夏|秋|冬)季")
_FESTIVAL = re.compile(r"(元旦|春节|清明|五一|劳动节|端午|中秋|国庆|汛前|汛期|汛后|两会)")
_SEQUENCE_BY_CHAR = {"期": "phase", "批": "batch", "轮": "round"}


def _name(chunk: str, end: int, starts: dict[int, str], span: int) -> str:
    """The name that ends at `end`: from the farthest word start within `span` characters that does
    not begin with a common word; modifiers in front of the suffix are skipped first."""
    suffix_at = end
    for _ in range(3):
        name = ""
        for start in range(max(0, end - span - 1), end):
            word = starts.get(start)
            if word is None:
                continue
            if len(word) >= 2 and word[0] in "对在到请由向给从于为与和及将把" and not known_word(word):
                start += 1  # 「对鑫源」: jieba kept the preposition with the name
            elif start < end - span:
                continue
            # A common word may still be a name where it opens the text right before the suffix
            # (「建设路」), not where it opens a phrase (「解决清水河」).
            if word in _NOT_NAMES and not (start == 0 and start + len(word) == end == suffix_at):
                continue
            name = chunk[start:end]
            break
        if not name:
            return ""
        if name in _MODIFIERS:
            end -= len(name)
            continue
        for modifier in _MODIFIERS:
            if name.endswith(modifier) and len(name) > len(modifier):
                end -= len(modifier)
                break
        else:
            return name
    return ""


def _is_name(name: str, suffix: str) -> bool:
    """Whether `name` before `suffix` names something: not a common noun (「农村」, 「冬季道路」,
    「人民路道路」) and not running into an earlier name (「纸房镇集镇」); 「杨集镇」 is a name."""
    if suffix[0] in name or not re.fullmatch(rf"[{HAN}]+", name) or name[0] in _MEASURES or "年" in name:
        return False
    if len(name) < 2 and suffix not in ("河", "江", "湖", "渠", "医院"):  # 柳河, 县医院 / 中医院
        return False
    if name[-1] in "乡镇县市区" and suffix in ("小区", "花园", "家园", "新村", "市场"):  # 城关镇(老旧)小区: a township
        return False
    if name[-1] + suffix[0] in _GENERIC_TAILS:
        head = name[:-1]
        return bool(head) and head not in _NOT_NAMES and not (len(head) >= 2 and known_word(head))
    return True


def extract(text: str) -> dict[str, frozenset[str]]:
    """Entities of normalised text, by kind. Values are short strings (a name, a year, a number)."""
    found: dict[str, set[str]] = {}

    def add(kind: str, value: str) -> None:
        if value:
            found.setdefault(kind, set()).add(value)

    for chunk in text.split(" "):
        if not chunk:
            continue
        starts = word_starts(chunk)
        for kind, pattern in _SUFFIXED:
            for match in pattern.finditer(chunk):
                name = _name(chunk, match.start(), starts, _NAME_SPAN.get(kind, 3))
                if name and _is_name(name, match.group(1)):
                    add(kind, name + ("" if kind == "firm" else match.group(1)))
        for match in _AREA.finditer(chunk):
            add("area", next(g for g in match.groups() if g))
        for match in _SECTION.finditer(chunk):
            add("section", match.group(1) + match.group(2))
        for match in _ROAD_CODE.finditer(chunk):
            add("code", match.group(1))
        for match in _YEAR.finditer(chunk):
            first, last = int(match.group(1)), int(match.group(2) or match.group(1))
            for year in range(first, min(last, first + 10) + 1):
                add("year", str(year))
        for match in _ORDINAL.finditer(chunk):
            number = cn_to_int(match.group(1))
            if number is not None:
                kind = _SEQUENCE_BY_CHAR.get(match.group(2))
                if kind:
                    add(kind, str(number))
                else:  # 第三巡察组, 第二水厂, 第一中学: the number goes with what it numbers
                    add("ordinal", f"{match.group(2)}{number}")
        for match in _PHASE.finditer(chunk):
            number = cn_to_int(match.group(1))
            if number is not None:
                add("phase", str(number))
        for match in _FIRST.finditer(chunk):
            add(_SEQUENCE_BY_CHAR[match.group(1)], "1")
        for match in _QUARTER.finditer(chunk):
            add("quarter", str(cn_to_int(match.group(1))))
        for match in _HALF.finditer(chunk):
            add("half", match.group(1))
        for match in _MONTH.finditer(chunk):
            add("month", str(cn_to_int(match.group(1))))
        for match in _SEASON.finditer(chunk):
            add("season", match.group(1))
        for match in _FESTIVAL.finditer(chunk):
            add("festival", match.group(1))
    return {kind: frozenset(values) for kind, values in found.items()}


# Periods count only in titles: a requirement text tells the story (「2025年汛期内涝」) and the deadline
# (「2026年汛前完成」), so two texts about one matter name different times all the time. Years of the
# text are kept apart as "text_year": they separate two items only when the titles read alike (an
# annual task registered again under the same title), which compare() decides.
TITLE_ONLY_KINDS = PERIOD_KINDS
TEXT_YEAR = "text_year"


def of_matter(title: str, text: str) -> dict[str, frozenset[str]]:
    """Entities of an item: places, objects and sequence numbers from title and text, periods from
    the title, the text's years as "text_year"."""
    body = extract(f"{title} {text}".strip())
    found = {kind: values for kind, values in body.items() if kind not in TITLE_ONLY_KINDS}
    found.update((kind, values) for kind, values in extract(title).items() if kind in TITLE_ONLY_KINDS)
    if "year" in body and "year" not in found:
        found[TEXT_YEAR] = body["year"]
    return found


def same_name(a: str, b: str) -> bool:
    """Two mentions of one name: equal, or one a tail of the other (「固柳河」 cut from 「加固柳河」)."""
    return a == b or (len(a) >= 2 and len(b) >= 2 and (a.endswith(b) or b.endswith(a)))


def _conflicting_kinds(a: dict[str, frozenset[str]], b: dict[str, frozenset[str]]) -> Iterator[str]:
    """Kinds that both name and in which they share nothing, one by one."""
    for kind in a.keys() & b.keys():
        va, vb = a[kind], b[kind]
        if va & vb:
            continue
        if kind in NAME_KINDS:
            if any(same_name(x, y) for x in va for y in vb):
                continue
        if kind == "ordinal":
            # Only numbers of the same thing disagree: 第三巡察组 vs 第五巡察组, not 第二水厂 vs 第一中学.
            heads_a = {v[0] for v in va}
            if not heads_a & {v[0] for v in vb}:
                continue
        yield kind


def conflicts(a: dict[str, frozenset[str]], b: dict[str, frozenset[str]]) -> list[tuple[str, list[str], list[str]]]:
    """Kinds that both name and in which they share nothing: (kind, a's values, b's values)."""
    return [(kind, sorted(a[kind]), sorted(b[kind])) for kind in _conflicting_kinds(a, b)]


def any_conflict(a: dict[str, frozenset[str]], b: dict[str, frozenset[str]], *, besides: str) -> bool:
    """Whether `conflicts(a, b)` names a kind other than `besides`, stopping at the first."""
    return any(kind != besides for kind in _conflicting_kinds(a, b))


def shared(a: dict[str, frozenset[str]], b: dict[str, frozenset[str]]) -> list[tuple[str, list[str]]]:
    """Kinds in which both name the same thing, for the reasons (「地点一致（城北）」)."""
    out = []
    for kind in a.keys() & b.keys():
        common = sorted(a[kind] & b[kind]) or sorted(x for x in a[kind] for y in b[kind] if x != y and same_name(x, y))
        if common:
            out.append((kind, common))
    return out
