"""Request parsers (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

JSON can carry text that PostgreSQL cannot hold: a NUL character ("\\u0000") or half of a UTF-16
surrogate pair ("\\ud800"). DRF's CharField refuses both, but a field that takes free-form JSON
(a list of unit ids or names, a nested object) handed them to the database, which answered with an
error and the client with a 500. Refusing them while parsing covers every such field at once, and
the 400 still names the field (dotted path, as supervision/api/errors.py flattens nested errors)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser

# Deeper than any request of this API needs; a body nested thousands deep made the JSON decoder
# (and anything walking the result recursively) raise RecursionError: a 500.
MAX_JSON_DEPTH = 32


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate
        return False
    return True


def _unstorable_paths(value) -> list[str]:
    """Dotted paths ("items.0.lead_unit") of the strings and keys that cannot be stored as text."""
    found: list[str] = []
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, current = stack.pop()
        if isinstance(current, str):
            if not _storable(current):
                found.append(path or "non_field_errors")
        elif isinstance(current, dict):
            for key, sub in current.items():
                key = str(key)
                if not _storable(key):
                    found.append(path or "non_field_errors")
                    continue
                stack.append((f"{path}.{key}" if path else key, sub))
        elif isinstance(current, list):
            stack.extend((f"{path}.{index}" if path else str(index), sub) for index, sub in enumerate(current))
    return sorted(set(found))


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((sub, depth + 1) for sub in (current.values() if isinstance(current, dict) else current))
    return deepest


class TextSafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON 嵌套层数过多（最多 %(n)d 层）。") % {"n": MAX_JSON_DEPTH}) from None
        if _depth(data) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(_("JSON 嵌套层数过多（最多 %(n)d 层）。") % {"n": MAX_JSON_DEPTH})
        paths = _unstorable_paths(data)
        if paths:
            message = _("不能包含 NUL 字符或无效的 Unicode 字符。")
            raise serializers.ValidationError({path: [message] for path in paths})
        return data
