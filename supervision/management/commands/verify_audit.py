from django.core.management.base import BaseCommand, CommandError

from supervision.audit import audit_keys, audit_verify


class Command(BaseCommand):
    help = "校验审计记录哈希链（配置 DUBAN_AUDIT_KEYS 时为密钥 HMAC 链）及数据库外的链头锚点；如有记录被改动、删除、调换、截去链尾或被不掌握密钥者重算，报告第一处断链。"

    def handle(self, *args, **options):
        report = audit_verify()
        if not report.ok:
            raise CommandError(f"审计链断裂：第 {report.broken_seq} 条。{report.problem}（已校验 {report.checked} 条完好记录）")
        lines = [f"审计链完整：共 {report.checked} 条记录。"]
        if report.keyed:
            lines.append(f"加密钥记录以密钥 {'、'.join(report.key_ids)} 的 HMAC 校验，仅能访问数据库者无法重算。")
        if report.unkeyed_prefix:
            lines.append(
                f"其中前 {report.unkeyed_prefix} 条为未加密钥的记录（配置审计密钥之前写入）：能发现改动，"
                "但能访问数据库者可重算其哈希。"
            )
        if report.newest_anchor is not None:
            newest = report.newest_anchor
            lines.append(
                f"外部锚点 {report.anchors} 个（{report.anchor_file}）均与链一致，最新一个记录至第 {newest.seq} 条（{newest.at}）："
                "截去链尾的记录能被发现。"
            )
        elif report.anchor_file:
            lines.append(f"外部锚点文件（{report.anchor_file}）中尚无锚点：定时任务每隔数分钟写入一次。")
        else:
            lines.append("未配置外部锚点（DUBAN_AUDIT_ANCHOR_FILE）：截去链尾最新的记录并改动链头，仅凭数据库无法发现。")
        if not audit_keys():
            lines.append("未配置审计密钥（DUBAN_AUDIT_KEYS）：新记录不加密钥。")
        elif report.checked and not report.keyed:
            lines.append("已配置审计密钥，但链中尚无加密钥的记录：如配置后已有新操作，说明链被重写。")
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
