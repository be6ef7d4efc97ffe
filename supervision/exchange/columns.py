"""The ledger workbook layout (督查台账表): the columns offices already keep in Excel.

Export writes these columns in this order and import reads them by header text, so a file
exported from Duban imports back unchanged (and a hand-kept ledger with the usual headers imports
too). One list, used by both directions: change a column here and both follow.

`aliases` are other header texts seen in offices' own ledgers for the same column."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LedgerColumn:
    key: str  # identifier used in code
    header: str  # the header text written on export
    width: int  # Excel column width on export
    required: bool = False  # import: a row without it is an error
    aliases: tuple[str, ...] = field(default_factory=tuple)

    def matches(self, text: str) -> bool:
        text = "".join((text or "").split())
        return text == self.header or text in self.aliases


LEDGER_COLUMNS: tuple[LedgerColumn, ...] = (
    LedgerColumn("seq", "序号", 6),
    LedgerColumn("code", "台账编号", 14, aliases=("编号", "事项编号")),
    LedgerColumn("title", "事项名称", 40, required=True, aliases=("督办事项", "事项", "工作任务", "任务名称")),
    LedgerColumn("instruction_title", "批示件", 30, aliases=("来源文件", "批示件标题", "交办件")),
    # 参阅性 instructions have items without a deadline (DOMAIN.md rule 2); without the nature an
    # import could not tell such an item from one whose deadline is missing.
    LedgerColumn("nature", "批示性质", 10, aliases=("性质", "批办性质")),
    LedgerColumn("source", "来源/批示领导", 16, required=True, aliases=("来源", "批示领导", "交办领导", "来源及批示领导")),
    LedgerColumn("document_number", "文号", 18, aliases=("批示文号", "文件编号")),
    LedgerColumn("issued_on", "批示日期", 12, aliases=("交办日期", "日期")),
    LedgerColumn("lead_unit", "牵头单位", 18, required=True, aliases=("责任单位", "主办单位")),
    LedgerColumn("supporting_units", "配合单位", 22, aliases=("协办单位", "配合部门")),
    LedgerColumn("owner", "责任人", 10, aliases=("具体责任人", "联系人")),
    LedgerColumn("deadline", "办理时限", 12, aliases=("完成时限", "时限要求", "办结时限")),
    LedgerColumn("urgency", "紧急程度", 10, aliases=("缓急",)),
    LedgerColumn("classification", "密级", 8),
    LedgerColumn("category", "类别", 12, aliases=("事项类别", "分类")),
    LedgerColumn("progress", "进展情况", 40, aliases=("工作进展", "落实情况", "办理情况")),
    LedgerColumn("status", "状态", 10, aliases=("办理状态", "完成情况")),
    # When a closed item was closed: without it an imported closure would count as closed on the
    # import day, and the on-time rates would be wrong for every migrated ledger.
    LedgerColumn("closed_on", "办结日期", 12, aliases=("销号日期", "办结时间", "完成日期", "销号时间")),
)

# Separators seen between unit names in one cell: 、，,；; and line breaks.
LIST_SEPARATORS = "、，,；;\n"
