"""The figures' definitions in Chinese, written once: the OpenAPI descriptions (`describe`), the
dashboard's 口径说明 panel and the quarterly workbook's first sheet (`PRINCIPLES`, `PANEL_KEYS`)
all read them from here, and the package docstring (supervision/stats/__init__.py) says the same
in English."""

from __future__ import annotations

# The rules that keep the figures from being laundered (DOMAIN.md rule 15), in the order a reader
# needs them: the dashboard panel and the workbook's first sheet show them above the definitions.
PRINCIPLES = (
    (
        "按原定时限计",
        "事项在其原定时限所在的统计期“应办结”，之后无论批准多少次延期、回访后给了多少新的整改时限，都不移出该期；"
        "原定时限之后才销号的，一律算“未按时”，不论延期是何时批准的。",
    ),
    (
        "现时限并列显示",
        "按现办理时限（含延期）计算的应办结、按时办结率与按原定时限的数字并列显示，只作参考，绝不替代。",
    ),
    (
        "反弹照计",
        "回访复核未通过的事项，在复核日期所在的统计期计为“反弹”，并仍按原定时限留在原来的应办结期内；"
        "重新办理不抹去此前的销号记录（“曾销号”仍计入当月销号）。",
    ),
    (
        "按当时的时限回看",
        "过去各月月末的超期数，按该月月末当时有效的办理时限计算（时限变更历史），之后的延期不倒推生效。",
    ),
)

DEFINITIONS = {
    "scope": "统计范围：当前用户可见的事项（与事项列表相同的可见性规则：不超过本人密级、不超出本人职责范围），"
    "再按请求中与事项列表相同的筛选参数缩小。",
    "period": "统计期：period_start / period_end（含首尾两日）或 quarter=2026Q3（7月1日至9月30日），二者不可同时使用。"
    "都不填时为“截至今日”（无起始日，截止日为今天）；只填起始日则无截止日，只填截止日则无起始日。"
    "统计期决定哪些事项“应办结”、哪些“在统计期内销号”“反弹”；状态、红黄绿灯、超期、在办、停滞是当前时点的数字，"
    "不受统计期影响（可用 deadline_after / deadline_before 缩小）。",
    "due": "应办结（按原定时限）：状态不是草稿或已撤销，且原定时限在统计期内的事项。之后批准的延期、回访未通过后给的新整改时限"
    "都不会把事项移出原定时限所在的统计期。无办理时限的（参阅性）不计；暂停的计入。",
    "closed": "已办结：应办结事项中当前状态为已销号或回访通过的（回访未通过重新办理的，在再次销号前不计）。",
    "implementation_rate": "落实率 = 已办结 ÷ 应办结（按原定时限）。",
    "on_time_rate_original": "按原定时限按时办结率 = 应办结事项中已办结且销号日期（北京时间）不晚于原定时限的 ÷ 应办结。"
    "原定时限之后销号的一律不算按时，不论延期何时批准。",
    "due_current": "应办结（按现时限，参考）：现办理时限（含延期、整改时限）在统计期内的事项，与按原定时限的数字并列显示，不替代。",
    "implementation_rate_current": "落实率（按现时限，参考）= 现时限在统计期内的事项中已办结的 ÷ 应办结（按现时限）。",
    "on_time_rate_extended": "按现时限按时办结率（参考）= 现时限在统计期内、已办结且销号日期不晚于现办理时限的 ÷ 应办结（按现时限）。",
    "overdue": "超期：当前在办（已交办、已签收、办理中、待审核）且已过现办理时限的事项，与红黄绿灯规则一致。",
    "overdue_original": "按原定时限超期：当前在办且已过原定时限的事项（含经延期后尚未到现时限的）。",
    "open_with_deadline": "在办有时限：当前在办且有办理时限的事项（亮灯的事项）。",
    "overdue_rate": "超期率 = 超期 ÷ 在办有时限。",
    "closed_in_period": "统计期内销号：在统计期内（北京时间）销号过的事项，包括之后回访未通过、重新办理的（重新办理不抹去此前的销号）。",
    "average_workdays_to_close": "平均办结工作日：当前销号日期在统计期内的事项，从交办日到销号日之间的工作日数（不含交办当日，含销号当日，"
    "按法定节假日和调休日历）的平均值。",
    "relapsed": "反弹：回访复核未通过、复核日期在统计期内的事项；事项仍按原定时限留在原来的应办结期内。",
    "reopened": "回访后重新办理：回访复核未通过、重新办理过至少一次的事项（reopen_count > 0），不论何时。",
    "assigned": "已交办：状态不是草稿或已撤销、交办时间（北京时间）在统计期内的事项（办结率、在办率的分母）。",
    "completion_rate": "办结率 = 已交办事项中当前已销号或回访通过的 ÷ 已交办。",
    "in_progress_rate": "在办率 = 已交办事项中当前已签收、办理中或待审核的 ÷ 已交办（只交办未签收的不算在办）。",
    "stale": "停滞：已交办事项中当前已签收或办理中（待审核的在等督查室，不算），且超过其反馈周期加宽限天数没有任何单位反馈"
    "（从未反馈的自交办时起算；不定期的按督查室设定的天数），或牵头单位最近连续 N 次反馈的进度（%）都相同。"
    "N、宽限天数和不定期事项的周期由督查室在后台“统计口径与考核权重”中设定。",
    "stale_rate": "停滞率 = 停滞 ÷ 在办：自称“在办”的事项中实际没有在推进的比例。",
    "stages": "环节用时（按牵头单位，统计期内交办的事项，单位：天）：交办→签收 = 牵头单位签收时间 − 交办时间；交办→首次反馈 = "
    "第一份进展反馈的时间 − 交办时间；单位审核 = 办结申请从提交到单位负责人签字的时间"
    "（申请人本人即签字人的、单位签字制度之前提交的不计）；督查室审核 = 从单位签字（无须签字的从提交）到批准或退回的时间。measured 为参与平均的事项（申请）数。",
    "assessment": "考核得分（按牵头单位，统计期通常为一个季度）= 各项得分之和，每项 = 计分依据 × 督查室在后台设定的权重："
    "基础分；按原定时限按时办结率 × 满分；当前超期件数、统计期内交办且当前停滞的件数、统计期内反弹件数各 × 每件权重；"
    "统计期内印发的表扬、批评通报中点到该单位的次数，统计期内认定问责的超期说明件数各 × 每次权重。"
    "每项附所计事项的列表链接（通报、问责附所涉事项），只计当前用户可见的事项。",
    "burden": "基层负担（减负，按单位、按周，周一 0 时至下周一 0 时，北京时间）：收到消息 = 该单位人员收到的站内信条数"
    "（一条发给三人算三条）；催办 = 到达该单位的签收、时限、超期、列入清单等催办（同一催办发给单位多人只算一次）；要求报送 = "
    "按反馈周期要求报送进展的次数；报送反馈 = 该单位提交的进展反馈份数；同一事项的督办件数 = 该单位牵头的在办事项数 ÷ "
    "事项数（合并督办、督查室设定“只计一次”的关联事项合为一件；1.0 表示没有重复督办）；督查活动 = 当周到该单位的统筹督查活动数。"
    "超过督查室在后台设定的每周上限时标出，并通知督查室。只有督查室和领导可以查看。",
    "null_rates": "分母为 0 时比率为 null（不是 0）：“没有应办结事项”不等于“一件也没办”。比率为 0 到 1 之间的小数，保留 4 位；平均值保留 2 位。",
    "drilldown": "每个数字附 drilldown：/api/v1/items/?<本次请求的筛选条件>&<该数字自身的条件>，列表的 count 与数字相等。"
    "该数字自身的条件与请求中同一参数矛盾（如 overdue=false 时的超期数）、分组无法用列表筛选表示（无类别、系统外批示人）"
    "或为过去月份月末的超期数时，drilldown 为 null。",
    "units": "按单位排名：牵头单位（事项的牵头单位）与配合单位分别统计；每组给出合计、应办结、已办结、按时办结、超期及各项比率。"
    "使用 unit 筛选时只列出该单位及其下级单位。order：implementation_rate（落实率由低到高，默认）、on_time_rate"
    "（按原定时限按时办结率由低到高）、overdue（超期数由多到少）、due（应办结数由多到少）、name（名称）；比率为 null 的排在最后。",
    "trend": "月度趋势（按北京时间自然月）：新立项 = 立项时间在该月的事项；销号 = 在该月销号过的事项（含之后回访未通过、重新办理的）；"
    "月末超期 = 该月最后一天时已交办、当时未处于销号状态、不是草稿或已撤销、且按当时有效的办理时限（时限变更历史）已超期的事项。"
    "之后批准的延期、之后给的整改时限不倒推生效。当月为当前超期数（与汇总中的超期相同），以后的月份为 null。"
    "范围：给出统计期时为统计期覆盖的各月（只给截止日时向前 months 个月），否则为截至本月的最近 months 个月（默认 12，最多 60）。",
}

# What the dashboard's 口径说明 panel and the workbook's first sheet list after the principles.
PANEL_KEYS = (
    "due",
    "implementation_rate",
    "on_time_rate_original",
    "due_current",
    "overdue",
    "overdue_original",
    "closed_in_period",
    "relapsed",
    "assigned",
    "completion_rate",
    "in_progress_rate",
    "stale",
    "stale_rate",
    "stages",
    "assessment",
    "trend",
    "burden",
    "null_rates",
)


def describe(*keys: str) -> str:
    return "\n\n".join(DEFINITIONS[k] for k in keys)


def panel() -> list[dict]:
    """The 口径说明 panel: the principles, then the definitions, as (title, text) rows."""
    return [{"title": title, "text": text} for title, text in PRINCIPLES] + [
        {"title": "", "text": DEFINITIONS[key]} for key in PANEL_KEYS
    ]
