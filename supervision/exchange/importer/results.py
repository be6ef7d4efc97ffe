"""What an import reports back: row errors in Chinese (row, column, message), the summary of what
was (or, in a dry run, would be) written, and the progress callback's shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class RowError:
    """One problem: the row number as Excel shows it (None: the whole file), the column header as
    written in the file, and what is wrong, in Chinese."""

    row: int | None
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = _("第 %(row)s 行") % {"row": self.row} if self.row else _("文件")
        column = f"「{self.column}」" if self.column else ""
        return f"{where}{column}：{self.message}"


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool
    file_name: str
    sha256: str
    rows_total: int = 0
    errors: list[RowError] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    written: bool = False
    item_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_dicts(self) -> list[dict]:
        return [e.as_dict() for e in self.errors]


Progress = Callable[[str, int, int], None]


def no_progress(phase: str, done: int, total: int) -> None:
    return None
