from django.core.management.base import BaseCommand, CommandError

from supervision.audit import audit_verify


class Command(BaseCommand):
    help = "校验审计记录哈希链；如有记录被改动、删除或调换，报告第一处断链。"

    def handle(self, *args, **options):
        report = audit_verify()
        if not report.ok:
            raise CommandError(f"审计链断裂：第 {report.broken_seq} 条。{report.problem}（已校验 {report.checked} 条完好记录）")
        self.stdout.write(self.style.SUCCESS(f"审计链完整：共 {report.checked} 条记录。"))
