"""People and organisation: the unit tree, users, their roles and clearance."""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import Classification, IntegrationOperation, Role, UnitKind


class UnitQuerySet(models.QuerySet):
    def subtree(self, unit: Unit) -> UnitQuerySet:
        """The unit and every unit below it, by materialised path (one indexed range scan)."""
        return self.filter(path__startswith=unit.path)

    def subtree_ids(self, unit_id: int) -> list[int]:
        """The ids of the unit with that id and of every unit below it, in one query (none if no such unit)."""
        path = self.model.objects.filter(pk=unit_id).values("path")[:1]
        return list(self.filter(path__startswith=models.Subquery(path)).values_list("pk", flat=True))


class Unit(models.Model):
    """A unit (单位) in the tree: party office, supervision office, department, township…

    `path` is a materialised path ("0001/0007/") so "this unit and its sub-units" is one
    indexed prefix match instead of a recursive query.
    """

    name = models.CharField(_("名称"), max_length=100, unique=True)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    kind = models.CharField(_("类型"), max_length=32, choices=UnitKind.choices, default=UnitKind.DEPARTMENT)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    head = models.ForeignKey(
        "accounts.User",
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_units",
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["path"]
        indexes = [models.Index(fields=["path"], name="unit_path_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        creating = self.pk is None
        super().save(*args, **kwargs)
        new_path = (self.parent.path if self.parent_id else "") + f"{self.pk:06d}/"
        if new_path != self.path:
            old_path = self.path
            Unit.objects.filter(pk=self.pk).update(path=new_path)
            self.path = new_path
            if not creating and old_path:
                # Moving a unit moves its whole subtree.
                for child in Unit.objects.filter(path__startswith=old_path).exclude(pk=self.pk):
                    Unit.objects.filter(pk=child.pk).update(path=new_path + child.path[len(old_path) :])

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.parent_id and self.pk and self.parent.path.startswith(self.path or "\0"):
            raise ValidationError({"parent": _("上级单位不能是本单位或其下级单位。")})


class User(AbstractUser):
    """A person who signs in. Belongs to one unit, holds roles and a clearance (密级)."""

    full_name = models.CharField(_("姓名"), max_length=50)
    unit = models.ForeignKey(
        Unit, verbose_name=_("所属单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    title = models.CharField(_("职务"), max_length=50, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    clearance = models.PositiveSmallIntegerField(_("密级权限"), choices=Classification.choices, default=Classification.INTERNAL)

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @cached_property
    def role_codes(self) -> frozenset[str]:
        """Roles as a set, loaded once per request (prefetched roles are reused)."""
        return frozenset(r.role for r in self.role_assignments.all())

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_codes.intersection(roles))

    @property
    def is_office(self) -> bool:
        """Supervision office staff or administrators: they run the ledger."""
        return self.has_role(Role.OFFICE_STAFF, Role.OFFICE_DIRECTOR, Role.ADMINISTRATOR)

    @property
    def is_office_director(self) -> bool:
        """督查室主任: approves the 督查员's items before assignment when the office requires it."""
        return self.has_role(Role.OFFICE_DIRECTOR)

    # Office staff, leaders and administrators see every item within their clearance.
    WHOLE_LEDGER_ROLES = (Role.OFFICE_STAFF, Role.OFFICE_DIRECTOR, Role.LEADER, Role.ADMINISTRATOR)

    @property
    def sees_whole_ledger(self) -> bool:
        return self.has_role(*self.WHOLE_LEDGER_ROLES)

    @property
    def is_unit_user(self) -> bool:
        return self.has_role(Role.UNIT_HANDLER, Role.UNIT_HEAD)

    @cached_property
    def client_scope(self) -> bool:
        """True for an OA client's service account that reads only its own unit's items (rule 13,
        the default); False for people and for a client an administrator granted whole-ledger
        reach. Service accounts never have a usable password, so a person costs no query."""
        if self.pk is None or self.has_usable_password():
            return False
        client = IntegrationClient.objects.filter(user_id=self.pk).values_list("whole_ledger", flat=True).first()
        return client is not None and not client

    @property
    def reads_whole_ledger(self) -> bool:
        """Sees every item within clearance (office, leaders, administrators), unless a scoped client."""
        return self.sees_whole_ledger and not self.client_scope

    @property
    def reads_as_office(self) -> bool:
        """Sees what the office sees (drafts included), unless a scoped client."""
        return self.is_office and not self.client_scope

    @property
    def scope_unit_id(self) -> int | None:
        """The unit whose items a unit user or a scoped client reads, or None."""
        return self.unit_id if (self.is_unit_user or self.client_scope) else None


class RoleAssignment(models.Model):
    """One role held by one user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("用户"))
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="uniq_user_role")]

    def __str__(self) -> str:
        return self.get_role_display()


class IntegrationClient(models.Model):
    """An OA system (or another machine) that calls the API with an API key.

    It acts as its own service account (`user`): a User in the client's unit whose roles and
    clearance bound what the key can touch, so every service's permission check and every audit
    event apply to machine calls exactly as to people. `operations` narrows further what the key
    may call at all. Only a SHA-256 digest of the key is stored; the key itself is shown once."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    unit = models.ForeignKey(Unit, verbose_name=_("代表单位"), on_delete=models.PROTECT, related_name="integration_clients")
    user = models.OneToOneField(
        User, verbose_name=_("服务账号"), on_delete=models.PROTECT, related_name="integration_client", editable=False
    )
    operations = models.JSONField(_("允许的操作"), default=list, help_text=_("可调用的接口类别"))
    # "dbk_<prefix>_<secret>": the prefix finds the row with an index, the digest proves the key.
    key_prefix = models.CharField(_("密钥前缀"), max_length=16, unique=True, editable=False)
    key_digest = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(_("启用"), default=True)
    # Rule 13: a key reads its own unit's items only, unless an administrator grants the whole
    # ledger (within the service account's clearance) through integration_client_update (audited).
    whole_ledger = models.BooleanField(
        _("全台账读取"), default=False, help_text=_("由系统管理员授予；未授予时只能读取本单位牵头或配合的事项")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    key_rotated_at = models.DateTimeField(_("密钥更换时间"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("最近调用时间"), null=True, blank=True, editable=False)
    note = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("对接系统")
        verbose_name_plural = _("对接系统")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def allows(self, operation: str) -> bool:
        return self.is_active and operation in (self.operations or [])

    def get_operations_display(self) -> str:
        labels = dict(IntegrationOperation.choices)
        return "、".join(str(labels.get(op, op)) for op in self.operations or [])
