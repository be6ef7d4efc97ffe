"""The dashboard's count cell: a figure's count, linked to its list when it has one. A tag rather than
an included template: a province's unit ranking writes some twelve thousand of them per page, and an
include costs many times what this does."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def figure_count(key: str, fig) -> str:
    """`fig`: {count, link} (link: the dashboard list, or None); `key` names the figure for scripts
    and tests (data-figure)."""
    if not fig:
        return format_html('<span class="count" data-figure="{}" data-count=""></span>', key)
    count, link = fig.get("count"), fig.get("link")
    if link:
        return format_html('<a class="count" data-figure="{}" data-count="{}" href="{}">{}</a>', key, count, link, count)
    if count is None:
        return format_html('<span class="count" data-figure="{}" data-count="">—</span>', key)
    return format_html('<span class="count" data-figure="{}" data-count="{}">{}</span>', key, count, count)
