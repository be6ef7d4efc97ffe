"""manage.py duplicate_pairs FILE [--threshold X]: score the duplicate-matter detector on labelled pairs."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from supervision.choices import InstructionKind
from supervision.matching.evaluation import PairsFileError, evaluate_file, report_lines


def _threshold(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"阈值应为 0 到 1 之间的数：{value}") from None
    if not 0 < number <= 1:
        raise CommandError(f"阈值应为 0 到 1 之间的数：{value}")
    return number


class Command(BaseCommand):
    help = (
        "用标注好的事项对评估重复事项识别：每行一个 JSON 对象 "
        '{"id", "a": {"title", "text", "lead_unit", "source_kind"}, "b": {…}, "duplicate": true/false}，'
        "输出精确率、召回率、F1、TP/FP/FN/TN 和误判的 id（附得分和理由）。文件有误时指出行号，退出码 1。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="标注文件（JSON Lines，UTF-8）")
        parser.add_argument(
            "--threshold", type=str, default=None, help="判为重复的最低得分（0–1），默认取设置 DUPLICATE_MATCH_THRESHOLD"
        )

    def handle(self, *args, file, threshold, **options):
        limit = _threshold(threshold) if threshold is not None else None
        try:
            result = evaluate_file(file, threshold=limit, source_kinds=InstructionKind.values)
        except PairsFileError as exc:
            raise CommandError(str(exc)) from None
        for line in report_lines(result):
            self.stdout.write(line)
