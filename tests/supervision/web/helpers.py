"""Helpers for the page tests: a signed-in browser-like client, htmx posts, Chinese checks."""

from __future__ import annotations

import re

from django.test import Client

CJK = re.compile(r"[\u4e00-\u9fff]")


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hx_post(client: Client, url: str, data: dict | None = None, **extra):
    return client.post(url, data or {}, HTTP_HX_REQUEST="true", **extra)


def hx_get(client: Client, url: str):
    return client.get(url, HTTP_HX_REQUEST="true")


def field_errors(response, field: str) -> list[str]:
    """The messages shown under a form field (the template's <ul id="error-<field>">)."""
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="error-{field}">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1), re.S) if match else []


def problem(response) -> str:
    html = response.content.decode()
    match = re.search(r'id="(?:action-problem|form-errors)">(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""
