"""Enter a year's public holidays and make-up working days, as the State Council's annual
notice on holiday arrangements (国务院办公厅关于某年部分节假日安排的通知) announces them:

    manage.py calendar_add_year 2027 --holiday 2027-01-01:元旦 \\
        --holiday 2027-02-10..2027-02-16:春节 --workday 2027-02-07:春节调休
    manage.py calendar_add_year 2027 --file 2027.json
    manage.py calendar_add_year 2025 --from-chinese-calendar

The file holds {"year": 2027, "holidays": [...], "workdays": [...]}; each entry is either a
string as on the command line ("2027-02-10..2027-02-16:春节") or an object
{"date": "2027-01-01", "name": "元旦"} / {"start": "2027-02-10", "end": "2027-02-16", "name": "春节"}.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from supervision.choices import CalendarDaySource
from supervision.errors import InvalidInput
from supervision.services import CalendarYearResult, calendar_year_seed_from_package, calendar_year_set

Date = datetime.date


def _parse_date(text: str) -> Date:
    try:
        return Date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"日期格式错误：“{text}”，应为 YYYY-MM-DD，例如 2027-01-01。") from None


def _expand(first: str, last: str | None, name: str, spec: str) -> list[tuple[Date, str]]:
    start = _parse_date(first)
    end = _parse_date(last) if last is not None else start
    if end < start:
        raise CommandError(f"日期范围有误：“{spec}”的结束日期早于开始日期。")
    if not name.strip():
        raise CommandError(f"缺少名称：“{spec}”，应写成 日期:名称，例如 2027-01-01:元旦。")
    days = (end - start).days + 1
    return [(start + datetime.timedelta(days=i), name.strip()) for i in range(days)]


def parse_spec(spec: str) -> list[tuple[Date, str]]:
    """ "2027-01-01:元旦" or "2027-02-10..2027-02-16:春节" → [(date, name), ...]."""
    dates, sep, name = spec.partition(":")
    if not sep:
        raise CommandError(f"缺少名称：“{spec}”，应写成 日期:名称 或 开始..结束:名称，例如 2027-02-10..2027-02-16:春节。")
    first, dots, last = dates.partition("..")
    return _expand(first, last if dots else None, name, spec)


def parse_entry(entry) -> list[tuple[Date, str]]:
    """A file entry: a string as on the command line, or an object with date/start/end/name."""
    if isinstance(entry, str):
        return parse_spec(entry)
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        if isinstance(entry.get("date"), str):
            return _expand(entry["date"], None, entry["name"], json.dumps(entry, ensure_ascii=False))
        if isinstance(entry.get("start"), str) and isinstance(entry.get("end"), str):
            return _expand(entry["start"], entry["end"], entry["name"], json.dumps(entry, ensure_ascii=False))
    raise CommandError(
        f"无法识别的条目：{json.dumps(entry, ensure_ascii=False)}；"
        '应为 “日期:名称” 字符串，或 {"date", "name"} / {"start", "end", "name"} 对象。'
    )


def collect(pairs: list[tuple[Date, str]], into: dict[Date, str], seen: dict[Date, str], label: str) -> None:
    for day, name in pairs:
        if day in seen:
            raise CommandError(f"日期 {day.isoformat()} 重复出现（已作为{seen[day]}录入）。")
        seen[day] = label
        into[day] = name


class Command(BaseCommand):
    help = (
        "录入某一年的法定节假日和调休上班日（按国务院办公厅放假安排通知），或从 chinese-calendar 软件包重新导入。"
        "可重复执行：已有日期会被更新，不会重复。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("year", type=int, help="年份，例如 2027")
        parser.add_argument(
            "--holiday",
            action="append",
            default=[],
            metavar="日期[..日期]:名称",
            help="法定节假日，可重复；例如 2027-02-10..2027-02-16:春节",
        )
        parser.add_argument(
            "--workday",
            action="append",
            default=[],
            metavar="日期[..日期]:名称",
            help="调休上班日，可重复；例如 2027-02-07:春节调休",
        )
        parser.add_argument("--file", type=Path, help='JSON 文件：{"year", "holidays": [...], "workdays": [...]}')
        parser.add_argument(
            "--replace", action="store_true", help="同时删除该年中未列出的其他日期（手工录入的除外）；默认只新增和更新"
        )
        parser.add_argument(
            "--from-chinese-calendar",
            action="store_true",
            help="从 chinese-calendar 软件包重新导入该年（软件包没有该年数据时拒绝执行）",
        )

    def handle(self, *args, year: int, holiday: list[str], workday: list[str], file: Path | None, replace: bool, **options):
        from_package = options["from_chinese_calendar"]
        try:
            if from_package:
                if holiday or workday or file:
                    raise CommandError("--from-chinese-calendar 不能与 --holiday / --workday / --file 同时使用。")
                result = calendar_year_seed_from_package(actor=None, year=year)
            else:
                holidays, workdays = self._read_input(year, holiday, workday, file)
                result = calendar_year_set(
                    actor=None,
                    year=year,
                    holidays=holidays,
                    workdays=workdays,
                    source=CalendarDaySource.ANNOUNCEMENT,
                    replace=replace,
                )
        except InvalidInput as exc:
            raise CommandError(str(exc.message)) from exc
        self._report(result)

    def _read_input(
        self, year: int, holiday_specs: list[str], workday_specs: list[str], file: Path | None
    ) -> tuple[dict[Date, str], dict[Date, str]]:
        holidays: dict[Date, str] = {}
        workdays: dict[Date, str] = {}
        seen: dict[Date, str] = {}
        if file is not None:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"无法读取文件 {file}：{exc}") from exc
            if not isinstance(data, dict):
                raise CommandError(f'文件 {file} 的内容应为 JSON 对象：{{"year", "holidays", "workdays"}}。')
            if "year" in data and data["year"] != year:
                raise CommandError(f"文件 {file} 写的是 {data['year']} 年，与命令中的 {year} 年不符。")
            for key, into, label in (("holidays", holidays, "法定节假日"), ("workdays", workdays, "调休上班日")):
                entries = data.get(key, [])
                if not isinstance(entries, list):
                    raise CommandError(f"文件 {file} 中的 {key} 应为列表。")
                for entry in entries:
                    collect(parse_entry(entry), into, seen, label)
        for spec in holiday_specs:
            collect(parse_spec(spec), holidays, seen, "法定节假日")
        for spec in workday_specs:
            collect(parse_spec(spec), workdays, seen, "调休上班日")
        if not holidays and not workdays:
            raise CommandError("请用 --holiday / --workday、--file 或 --from-chinese-calendar 给出该年的日历。")
        return holidays, workdays

    def _report(self, result: CalendarYearResult) -> None:
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"提醒：{warning}"))
        source = CalendarDaySource(result.source).label
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.year} 年工作日历已写入（来源：{source}）：法定节假日 {result.holidays} 天，调休上班日 {result.workdays} 天；"
                f"新增 {result.created} 条，更新 {result.updated} 条，未变 {result.unchanged} 条，删除 {result.removed} 条。"
            )
        )
