"""`manage.py check --deploy`: the audit chain's protections (issue 11). A production deployment
without the key lets someone with the database recompute the chain after an edit; without the
anchor file they can cut the newest events off unseen."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def audit_chain_protections(app_configs, **kwargs):
    problems = []
    if not getattr(settings, "DUBAN_AUDIT_KEYS", ""):
        problems.append(
            Warning(
                "审计链未加密钥：能访问数据库者改动记录后可重算哈希链。",
                hint='设置 DUBAN_AUDIT_KEYS="<密钥编号>:<openssl rand -hex 32 生成的密钥>"，密钥保存在数据库之外。',
                id="duban.W001",
            )
        )
    if not getattr(settings, "DUBAN_AUDIT_ANCHOR_FILE", ""):
        problems.append(
            Warning(
                "审计链头未在数据库之外锚定：截去链尾最新的记录并改动链头无法发现。",
                hint="设置 DUBAN_AUDIT_ANCHOR_FILE 为数据库用户无法改写的存储上的文件（或转发 duban.audit.anchor 日志）。",
                id="duban.W002",
            )
        )
    return problems
