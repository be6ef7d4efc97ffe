"""manage.py import_ledger FILE --user USERNAME [--dry-run]: import an Excel ledger from the shell."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import User
from supervision.choices import ImportPhase
from supervision.errors import DomainError
from supervision.exchange.importer import ledger_import

PHASES = {
    ImportPhase.READING: "读取文件",
    ImportPhase.VALIDATING: "逐行校验",
    ImportPhase.WRITING: "写入台账",
    ImportPhase.DONE: "写入台账",
}


class Command(BaseCommand):
    help = (
        "导入 Excel 督查台账（.xlsx）：先逐行校验，有任何错误则不写入并列出错误（退出码 1）；--dry-run 只校验并列出将创建的内容。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="台账文件（.xlsx）")
        parser.add_argument("--user", required=True, help="以该用户（督查室工作人员）的身份导入")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, file, user, dry_run, no_progress, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{file}")
        actor = User.objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"用户不存在：{user}")
        # tqdm redraws one line with "\r": give it the raw stream, not the newline-adding wrapper.
        bar = _Bar(disable=no_progress, stream=getattr(self.stderr, "_out", self.stderr))
        try:
            result = ledger_import(actor=actor, file=path, dry_run=dry_run, progress=bar)
        except DomainError as exc:
            details = [str(m) for values in exc.fields.values() for m in values]
            raise CommandError("；".join(details) or str(exc.message)) from None
        finally:
            bar.close()

        s = result.summary
        if result.errors:
            self.stdout.write(f"发现 {len(result.errors)} 处错误，台账未作任何改动：")
            for error in result.errors:
                self.stdout.write(f"  {error}")
            raise CommandError(f"导入未通过：{len(result.errors)} 处错误。")
        verb = "试导入通过，将创建" if dry_run else "导入完成，已创建"
        self.stdout.write(
            f"{verb} {s['items']} 个事项；批示件新建 {s['instructions_new']} 个、沿用 {s['instructions_reused']} 个；"
            f"进展反馈 {s['reports']} 条。"
        )
        for title, counts in (("按状态", s["by_status"]), ("按牵头单位", s["by_lead_unit"])):
            if counts:
                self.stdout.write(f"  {title}：" + "；".join(f"{k} {v}" for k, v in counts.items()))
        for skipped in s["skipped"]:
            code = f"（{skipped['code']}）" if skipped["code"] else ""
            self.stdout.write(f"  跳过第 {skipped['row']} 行{code}：{skipped['reason']}")
        if s.get("codes"):
            self.stdout.write(f"  台账编号：{s['codes'][0]} — {s['codes'][1]}")
        self.stdout.write(self.style.SUCCESS("完成。"))


class _Bar:
    """A tqdm bar that follows the import's phases (validation, then writing)."""

    def __init__(self, *, disable: bool, stream):
        self.disable = disable
        self.stream = stream
        self.bar = None
        self.phase = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        label = PHASES.get(phase, str(phase))
        if label != self.phase and total:
            self.close()
            self.phase = label
            self.bar = tqdm(total=total, desc=label, unit="行", file=self.stream, disable=self.disable, leave=True)
        if self.bar is not None:
            self.bar.n = done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
