"""Reading a request's input the same way in every view: an input serializer's validated data,
and the version the client last saw (If-Match)."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiParameter

from supervision.errors import StaleVersion

IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False, description="上次读取时的 ETag；记录已被修改时返回 412"
)

_ETAG = re.compile(r'^(?:W/)?"?(?:\d+-)?(\d+)"?$')


def expected_version(request, data: dict | None = None) -> int | None:
    """The version the client last saw, from If-Match (ETag "<id>-<version>") or a body `version`."""
    header = request.headers.get("If-Match")
    version = (data or {}).get("version")
    if header and header.strip() != "*":
        match = _ETAG.match(header.strip())
        if not match:
            raise StaleVersion(code="bad_if_match")
        header_version = int(match.group(1))
        if version is not None and int(version) != header_version:
            raise StaleVersion()
        return header_version
    return version


def parse(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
