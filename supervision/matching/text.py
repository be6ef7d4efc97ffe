"""Chinese text for matching: normalisation, word tokens with weights, character bigrams.

Two items about the same matter are rarely worded alike: a meeting decision says 「县人民医院新院区建设」,
the secretary's instruction 「县医院新院区要倒排工期」, the OA push 「关于……问题的通知」. So the text is
reduced to its content before comparing: width and case folded, document numbers and the office's
boilerplate (关于、加快推进、问题、的通知…) removed, common variants of the same word made one
(噪声/噪音, 违章建筑/违建, 一中/第一中学), then cut into words with jieba. Words are weighed by how much they say (a place name far more than
「整治」); the comparison spreads each word's weight over its characters, so what segmentation splits
differently still meets.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

HAN = r"\u4e00-\u9fff"

# 文号 such as 云政办〔2026〕15号 or [2026]3号: the year inside names the document, not the target.
_DOC_NUMBER = re.compile(rf"[{HAN}A-Za-z]{{0,10}}[〔\[［(（]\s*\d{{4}}\s*[〕\]］)）]\s*第?\s*\d+\s*号")
_SPACES = re.compile(r"\s+")
# Everything that is not a letter, digit or Han character separates words (and entity names).
_SEPARATORS = re.compile(rf"[^0-9a-z{HAN}]+")

# The office's framing words: they say how a matter reached the ledger, not what it is.
_FRAMING = re.compile(
    "|".join(
        (
            r"^关于",
            r"的(?:批示|通知|函|建议|提案|意见|报告|请示|交办单|督办单)$",
            r"(?:问题)?的(?:批示|通知|建议|提案)",
            r"^(?:【[^】]*】)",
        )
    )
)

# One spelling for variants people use for the same thing. General vocabulary of county work, not
# names from any ledger: which word a unit or a reporter chose must not decide a match.
_VARIANTS: tuple[tuple[str, str], ...] = (
    ("噪声", "噪音"),
    ("违法建筑", "违建"),
    ("违章建筑", "违建"),
    ("违法建设", "违建"),
    ("电动自行车", "电动车"),
    ("电单车", "电动车"),
    ("公共厕所", "公厕"),
    ("棚户区改造", "棚改"),
    ("医疗卫生共同体", "医共体"),
    ("煤气中毒", "一氧化碳中毒"),
    ("自来水", "供水"),
    ("供热", "供暖"),
    ("易涝点", "内涝点"),
    ("积水点", "内涝点"),
    ("黑出租", "黑车"),
    ("欠薪", "拖欠工资"),
    ("拖欠农民工工资", "拖欠工资"),
    ("农民工工资拖欠", "拖欠工资"),
    ("人民医院", "医院"),
    ("菜市场", "农贸市场"),
    ("集贸市场", "农贸市场"),
    ("改扩建", "改建"),
    ("扩建", "改建"),
    ("通村道路", "农村道路"),
    ("农村公路", "农村道路"),
    ("中小学校", "中小学"),
    ("校门口", "门前"),
    ("校门前", "门前"),
    ("门口", "门前"),
    ("防止返贫", "防返贫"),
    ("整治", "治理"),
    ("整改", "治理"),
)

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_NUMBER = "零〇一二两三四五六七八九十百"

# 一中 / 二中 are how people say 第一中学 / 第二中学.
_SCHOOL_SHORT = re.compile(rf"(?<![第{CN_NUMBER}\d])([一二三四五六七八九十])中(?![学心国央华医标层期间小型级部])")

# Words that frame any supervision item; they get a small weight, not none, so two titles made of
# nothing else still compare.
COMMON_WORDS = frozenset(
    """
    关于 加快 推进 加快推进 推动 加强 切实 抓紧 做好 落实 解决 开展 进一步 全力 积极 认真 确保 尽快 及时
    问题 事项 工作 情况 进度 进展 滞后 缓慢 任务 目标 要求 项目 工程 建设 改造 提升 治理 专项 整顿 规范
    督查 督办 交办 转办 批示 议定 会议 群众 网民 反映 举报 建议 提案 通知 意见 落地 实施 完成 推进会
    全县 县城 城区 县域 我县 县 市 乡 镇 村 的 和 与 及 对 在 等 年 年度 月 日 前 后 内 底 中 上 下 个
    安全 隐患 排查 检查 整治 整改 综合 管理 服务 保障 提质 工作的 有关 相关 方面 各类 重点 全面 扩容
    请 由 要 将 牵头 配合 会同 负责 督促 限期 按时 反馈 核查 核实 调查 处理 办理 书记 县长 副县长 县委书记
    分管 领导 县委 常委会 常务会议 办公会 县长办公会 会议议定 政府 倒排工期 年底 年内 底前 到位 见成效
    强烈 多次 长期 严重 部分 依法 依规 交办件 热线 留言板 网络问政 问政 人大代表 政协委员 代表 委员 市里
    群众反映 网民反映 群众举报 网民留言 反映强烈 群众来信 来电 来信 转来
    省里 上级 下达 我县 立即 组织 做到 力争 务必 抓好 研究 协调 跟踪 上报 报送 结果 并 后 内 前 于
""".split()
)

_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _jieba():
    """jieba with its dictionary loaded once per process (about a second), quiet."""
    import jieba

    with _lock:
        jieba.setLogLevel(60)
        jieba.initialize()
    return jieba


@functools.lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    """jieba's inverse document frequencies (general Chinese text) and their median."""
    import jieba.analyse

    tfidf = jieba.analyse.default_tfidf
    return tfidf.idf_freq, tfidf.median_idf


def cn_to_int(text: str) -> int | None:
    """「十二」→12, 「二〇二六」→2026, 「3」→3; None when it is not a number."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if all(ch in _CN_DIGITS for ch in text):  # digit by digit: 二〇二六
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def normalise(text: str) -> str:
    """Folded, framing and document numbers removed, variants unified; separators kept as spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DOC_NUMBER.sub(" ", text)
    text = _FRAMING.sub(" ", text.strip())
    text = _SCHOOL_SHORT.sub(r"第\1中学", text)
    for variant, canonical in _VARIANTS:
        if variant in text:
            text = text.replace(variant, canonical)
    text = _SEPARATORS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """Content words of normalised text (jieba, precise mode), framing words included."""
    jieba = _jieba()
    return [w for chunk in text.split(" ") if chunk for w in jieba.lcut(chunk, HMM=True) if w.strip()]


def word_weight(word: str) -> float:
    """How much a shared (or missing) word says about the matter.

    Inverse document frequency from jieba's general corpus; words it does not know are mostly names
    (places, firms, projects) and weigh like rare words. Framing words and single characters weigh
    little: every item has them.
    """
    if word in COMMON_WORDS:
        return 1.0
    if word.isdigit():
        return 2.0
    idf, median = _idf()
    weight = idf.get(word)
    if weight is None:
        weight = median + 1.0 if len(word) > 1 else median * 0.5
    if len(word) == 1:
        weight = min(weight, 4.0)
    return round(weight, 3)


def word_starts(chunk: str) -> dict[int, str]:
    """Where each jieba word of a chunk starts, with the word: names begin at a word boundary."""
    jieba = _jieba()
    return {start: word for word, start, _end in jieba.tokenize(chunk, HMM=True)}


def known_word(word: str) -> bool:
    """Whether jieba's dictionary has the word (「和平」 yes, 「对鑫源」 no: a preposition glued to a name)."""
    return bool(_jieba().dt.FREQ.get(word))


def jieba_tokenize(chunk: str) -> list[tuple[str, int, int]]:
    """(word, start, end) of each jieba word of a chunk."""
    return list(_jieba().tokenize(chunk, HMM=True))
