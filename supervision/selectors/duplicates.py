"""Reads for 减负: duplicate suspicions, linked items (合并督办) and inspection activities."""

from __future__ import annotations

from django.db.models import (
    QuerySet,
)

from accounts.models import User
from supervision.errors import NotVisible
from supervision.models import (
    DuplicateSuspicion,
    ItemLink,
    SupervisionActivity,
)
from supervision.querysets import (
    activities_visible_to,
    links_visible_to,
    suspicions_visible_to,
)


def suspicion_list(*, user: User) -> QuerySet[DuplicateSuspicion]:
    return suspicions_visible_to(user).select_related("item__lead_unit", "candidate__lead_unit", "decided_by")


def suspicion_get(*, user: User, pk) -> DuplicateSuspicion:
    suspicion = suspicion_list(user=user).filter(pk=pk).first()
    if suspicion is None:
        raise NotVisible()
    return suspicion


def link_list(*, user: User) -> QuerySet[ItemLink]:
    return links_visible_to(user).select_related("item__lead_unit", "lead__lead_unit", "linked_by", "unlinked_by")


def link_get(*, user: User, pk) -> ItemLink:
    link = link_list(user=user).filter(pk=pk).first()
    if link is None:
        raise NotVisible()
    return link


def activity_list(*, user: User) -> QuerySet[SupervisionActivity]:
    return activities_visible_to(user).select_related("created_by").prefetch_related("target_units")


def activity_get(*, user: User, pk) -> SupervisionActivity:
    activity = activity_list(user=user).filter(pk=pk).first()
    if activity is None:
        raise NotVisible()
    return activity
