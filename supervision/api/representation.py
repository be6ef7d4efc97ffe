"""Output serializers compiled once per class.

DRF rebuilds a ModelSerializer's fields (and those of every nested serializer) for each request and
then walks them for each row through generic code. For a 20-row item list that is most of the time
spent in Python, and the overdue list is the page leaders open first. `CompiledOutputMixin` builds
the fields once per class, keeps per field only the getter and converter that DRF's own code would
pick, and renders rows from that plan. The output is DRF's, field for field
(tests/supervision/api/test_representation.py compares both on the whole demo ledger); a field it cannot read quickly is
read by DRF's own `get_attribute`.

Only for output serializers of model instances whose fields do not depend on the context (no
request-built URLs, no per-request field lists): the plan is shared by every request. Method fields
of the outermost serializer are still called on the serializer in use, with its context.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable

from django.db import models
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

# (key, getter, converter, is a related field, method name of a SerializerMethodField)
Plan = list[tuple[str, Callable, Callable, bool, str]]

_plans: dict[type, Plan] = {}
_lock = threading.RLock()  # plans of nested serializers are built inside their parent's


def _drf_getter(field) -> Callable:
    return field.get_attribute


def _plain_getter(field, model) -> Callable:
    """`getattr` for a one-step source that is not a method; anything unusual (a missing related
    row, an absent annotation) goes to DRF's get_attribute, which decides as it always does."""
    if field.source == "*" or len(field.source_attrs) != 1 or model is None:
        return _drf_getter(field)
    name = field.source_attrs[0]
    if inspect.isfunction(getattr(model, name, None)):
        return _drf_getter(field)
    drf_get = field.get_attribute

    def get(instance, name=name, drf_get=drf_get):
        try:
            return getattr(instance, name)
        except Exception:
            return drf_get(instance)

    return get


def _converter(field) -> Callable:
    if isinstance(field, serializers.ListSerializer):
        child = compiled(type(field.child), field.child)

        def convert_many(value, child=child):
            rows = value.all() if isinstance(value, models.manager.BaseManager) else value
            return [render(child, row) for row in rows]

        return convert_many
    if isinstance(field, serializers.BaseSerializer):
        plan = compiled(type(field), field)
        return lambda value, plan=plan: render(plan, value)
    return field.to_representation


def _build(serializer: serializers.BaseSerializer) -> Plan:
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    plan: Plan = []
    for field in serializer._readable_fields:
        method = field.method_name if isinstance(field, serializers.SerializerMethodField) else ""
        getter = _drf_getter(field) if isinstance(field, serializers.RelatedField) else _plain_getter(field, model)
        plan.append((field.field_name, getter, _converter(field), isinstance(field, serializers.RelatedField), method))
    return plan


def compiled(cls: type, instance: serializers.BaseSerializer | None = None) -> Plan:
    plan = _plans.get(cls)
    if plan is None:
        with _lock:
            plan = _plans.get(cls)
            if plan is None:
                plan = _plans[cls] = _build(instance if instance is not None else cls())
    return plan


def render(plan: Plan, instance, serializer=None) -> dict:
    """DRF's Serializer.to_representation over a compiled plan (same None and SkipField rules)."""
    ret = {}
    for name, get, convert, related, method in plan:
        try:
            value = get(instance)
        except SkipField:
            continue
        if related and isinstance(value, PKOnlyObject):
            ret[name] = None if value.pk is None else convert(value)
        elif value is None:
            ret[name] = None
        elif method and serializer is not None:
            ret[name] = getattr(serializer, method)(value)
        else:
            ret[name] = convert(value)
    return ret


class CompiledOutputMixin:
    """Mix into an output ModelSerializer (before it) to render it from a plan built once per class.
    Lists need nothing more: DRF's ListSerializer calls this per row and never builds the fields."""

    def to_representation(self, instance):
        return render(compiled(type(self)), instance, self)
