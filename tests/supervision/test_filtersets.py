"""The project's FilterSet base (supervision/filtersets.py): built once per class instead of per
request, and filtering and refusing exactly as django-filter's own machinery does."""

import datetime
import importlib
import pkgutil
import threading

import django_filters
import pytest
from django.http import QueryDict
from django.utils import timezone
from django_filters.filterset import BaseFilterSet

import accounts
import supervision
import tasks
from supervision.choices import ItemStatus
from supervision.filtersets import FilterSet, ItemFilterSet
from supervision.models import Item
from tests.factories import make_item

pytestmark = pytest.mark.django_db


class UpstreamItemFilterSet(ItemFilterSet):
    """The same filters and methods, through django-filter's per-request deep copy and form class."""

    __init__ = BaseFilterSet.__init__
    get_form_class = BaseFilterSet.get_form_class


QUERIES = [
    "",
    "overdue=true&ordering=deadline",
    "overdue=false&ordering=-deadline",
    "status=assigned&status=in_progress&urgency=",
    "light=red&light=overdue&q=整改",
    "deadline_after=2026-01-01&deadline_before=2026-12-31&reopened=false",
    "closed_on_time=original&listed=true&ordering=code",
    "owner=3&lead_unit=2&instruction_kind=meeting",
    # refused: each must give the same fields and messages
    "status=bogus",
    "owner=3.5&deadline_after=not-a-date",
    "ordering=password&overdue=maybe",
    "closed_on_time=sometimes&classification=9",
]


def filtered(filterset_class, query: str):
    filterset = filterset_class(QueryDict(query), queryset=Item.objects.all())
    if not filterset.is_valid():
        return "refused", {name: [str(m) for m in messages] for name, messages in filterset.errors.items()}
    return "sql", str(filterset.qs.query)


@pytest.fixture
def still_clock(monkeypatch):
    """The overdue and light filters read the clock: hold it, so two builds give the same SQL."""
    moment = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.mark.parametrize("query", QUERIES)
def test_filters_and_refuses_as_django_filter_does(query, still_clock):
    ours, upstream = filtered(ItemFilterSet, query), filtered(UpstreamItemFilterSet, query)
    assert ours == upstream
    # Twice: the second use of the shared form class must behave as the first.
    assert filtered(ItemFilterSet, query) == upstream


def test_the_form_class_is_built_once_per_filterset_class():
    first = ItemFilterSet(QueryDict("overdue=true"), queryset=Item.objects.all())
    second = ItemFilterSet(QueryDict("status=bogus"), queryset=Item.objects.all())
    assert type(first.form) is type(second.form)
    # A subclass has its own form class: it may declare other filters.
    narrower = type("NarrowerItemFilterSet", (ItemFilterSet,), {"overdue": None})
    assert "overdue" not in narrower(QueryDict(""), queryset=Item.objects.all()).form.fields
    assert "overdue" in first.form.fields
    # The instances share field objects but not their data or errors.
    assert first.form.fields["status"] is second.form.fields["status"]
    assert first.is_valid() and not second.is_valid()
    assert first.errors == {} and set(second.errors) == {"status"}


def late_and_on_time(world) -> tuple[Item, Item]:
    late, on_time = (
        make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler) for _ in range(2)
    )
    past = timezone.localdate() - datetime.timedelta(days=3)
    Item.objects.filter(pk=late.pk).update(deadline=past, original_deadline=past)
    return late, on_time


def test_each_filterset_has_its_own_filters_and_method_filters_call_it(world):
    late, on_time = late_and_on_time(world)
    overdue = ItemFilterSet(QueryDict("overdue=true"), queryset=Item.objects.all())
    not_overdue = ItemFilterSet(QueryDict("overdue=false"), queryset=Item.objects.all())

    assert overdue.filters["overdue"] is not not_overdue.filters["overdue"]
    assert overdue.filters["overdue"].parent is overdue and not_overdue.filters["overdue"].parent is not_overdue
    assert ItemFilterSet.base_filters["overdue"].__dict__.get("parent") is None  # the class's own are untouched
    assert set(overdue.qs) == {late} and set(not_overdue.qs) == {on_time}


def test_filtersets_used_from_several_threads_keep_to_their_own_query(world, still_clock):
    late, _on_time = late_and_on_time(world)
    sql = {
        value: str(ItemFilterSet(QueryDict(f"overdue={value}"), queryset=Item.objects.all()).qs.query)
        for value in ("true", "false")
    }
    seen, barrier = [], threading.Barrier(8)

    def work(value):
        barrier.wait()
        for _ in range(50):
            seen.append((value, str(ItemFilterSet(QueryDict(f"overdue={value}"), queryset=Item.objects.all()).qs.query)))

    threads = [threading.Thread(target=work, args=("true" if i % 2 else "false",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 400 and all(query == sql[value] for value, query in seen)
    assert list(ItemFilterSet(QueryDict("overdue=true"), queryset=Item.objects.all()).qs) == [late]


def test_a_filter_that_depends_on_the_request_is_refused():
    per_user = type(
        "PerUserFilterSet",
        (FilterSet,),
        {
            "owner": django_filters.ModelChoiceFilter(queryset=lambda request: Item.objects.none()),
            "Meta": type("Meta", (), {"model": Item, "fields": []}),
        },
    )
    with pytest.raises(AssertionError, match="depends on the request"):
        per_user(QueryDict("owner=1"), queryset=Item.objects.all()).get_form_class()


def test_every_filterset_in_the_project_uses_the_base():
    for package in (accounts, supervision, tasks):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" not in module.name and not module.name.endswith(".demo"):
                importlib.import_module(module.name)
    ours = [
        cls
        for cls in _subclasses(django_filters.FilterSet)
        if cls.__module__.split(".")[0] in ("accounts", "supervision", "tasks")
    ]
    assert len(ours) >= 10
    assert [cls.__name__ for cls in ours if not issubclass(cls, FilterSet)] == []


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
