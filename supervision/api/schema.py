"""OpenAPI generation for the whole API (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]).

Two things drf-spectacular does not know on its own and every view would otherwise repeat:

- the errors an operation can answer with, all in the one error shape of supervision/api/errors.py
  ({"code", "detail", "fields"}), derived once from what the operation is (needs credentials, has a
  path id, takes input, writes, takes If-Match, is throttled) rather than declared per view;
- a nested record over a nullable relation (an item's owner, a request's decider) is null when
  the relation is empty, so its schema says so.

A view's own @extend_schema responses win: an error status is only added where none is declared."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

ERROR_COMPONENT = "ApiError"
ERROR_SCHEMA = {
    "type": "object",
    "description": "错误响应：code 为稳定的错误代码，detail 为中文说明，fields 按字段列出问题。",
    "properties": {
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["code", "detail", "fields"],
}

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_METHODS = {"POST", "PUT", "PATCH"}

ERROR_DESCRIPTIONS = {
    "400": _("请求参数有误；fields 指出哪个字段、什么问题"),
    "401": _("未提供身份认证信息或令牌无效"),
    "403": _("没有执行此操作的权限"),
    "404": _("记录不存在或对您不可见（含超出密级的记录、无效的页码）"),
    "409": _("记录的当前状态不允许此操作，或与已有记录冲突"),
    "412": _("记录已被他人修改（If-Match / version 与当前版本不符），请重新读取"),
    "413": _("请求内容过大"),
    "415": _("不支持的请求内容类型"),
    "429": _("请求过于频繁，请稍后再试"),
}


class DubanAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self.registry.register_on_missing(
            ResolvedComponent(name=ERROR_COMPONENT, type=ResolvedComponent.SCHEMA, object=ERROR_COMPONENT, schema=ERROR_SCHEMA)
        )
        responses = operation.setdefault("responses", {})
        for status in self._error_statuses(operation):
            responses.setdefault(status, {"description": str(ERROR_DESCRIPTIONS[status])})
        for status, response in responses.items():
            # A view may describe an error in its own words; the body is still the one error shape.
            if str(status).startswith("4") and "content" not in response:
                response["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
        return operation

    def _error_statuses(self, operation: dict) -> list[str]:
        parameters = operation.get("parameters", [])
        locations = {p.get("in") for p in parameters}
        security = operation.get("security", [])
        needs_credentials = bool(security) and {} not in security
        statuses = []
        if "requestBody" in operation or "query" in locations:
            statuses.append("400")
        if any(security):
            statuses.append("401")  # no credentials where they are needed, or a bad token wherever one is sent
        if needs_credentials:
            statuses.append("403")
        # Invisible records are absent (404) and so are pages past the end of a list.
        if "path" in locations or any(p.get("name") == "page" and p.get("in") == "query" for p in parameters):
            statuses.append("404")
        if self.method in WRITE_METHODS and needs_credentials:
            statuses.append("409")
        if any(p.get("name", "").lower() == "if-match" and p.get("in") == "header" for p in parameters):
            statuses.append("412")
        if self.method in BODY_METHODS and "requestBody" in operation:
            statuses.extend(["413", "415"])
        if self.view.get_throttles():
            statuses.append("429")
        return statuses

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if direction == "response" and isinstance(field, serializers.BaseSerializer) and _over_nullable_relation(field):
            field.allow_null = True  # this schema-time copy only: DRF renders an empty relation as null
        return super()._map_serializer_field(field, direction, bypass_extensions)


def _over_nullable_relation(field: serializers.BaseSerializer) -> bool:
    """A nested serializer whose source walks through a nullable model field (owner, decided_by,
    notification.item ...)."""
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    if model is None or getattr(field, "many", False) or not field.source or field.source == "*":
        return False
    for name in field.source.split("."):
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        if getattr(model_field, "null", False):
            return True
        model = getattr(model_field, "related_model", None)
        if model is None:
            return False
    return False
