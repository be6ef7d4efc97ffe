"""Benchmark: the duplicate-candidate lookup at registration against a 1M-item ledger (issue 15),
next to a hand-written baseline in the same run.

    .venv/bin/python bench/generate_ledger.py --database postgres://postgres@127.0.0.1:5432/duban_bench_1m --items 1000000
    .venv/bin/python bench/duplicate_lookup.py [--database duban_bench_1m] [--units 4] [--lookups 240] [--batch 50]

The ledger must have its signatures (generate_ledger.py stores them unless --no-signatures). As an office
staff member with the highest clearance (every item visible), at the `--units` lead units with the most
live items (drafts, open, suspended: the largest pools, the worst case), it looks up `--lookups` new
matters, spread evenly over those units:

- half near-duplicates of a live item of the unit (its matter written again the way another source
  would: 关于…的批示, 加快推进…, 群众反映…问题, without the township, with another requirement text, from
  another instruction); whether that item is among the candidates is counted (found);
- half new matters: titles and texts composed as the ledger's are (bench/generate_ledger.MatterWords,
  another seed) and hand-written matters from tests/supervision/data/duplicate_pairs*.jsonl, none
  registered at the unit.

The same number of lookups goes to the unit in the middle of the ranking (a typical lead unit), shown
in the per-unit table for scale but left out of the totals and the target.

Timed, per lookup, in two passes over the same matters:

- `duplicate_candidates(...)`  what registration (and the dry run) calls: signature() of the new matter,
  then `lookup`;
- `lookup(new=signature)`      the same without the segmentation (the signature computed beforehand);
- the baseline                 what a developer would write without the service: one hand-written SQL
  query reading the unit's whole candidate pool with its stored signatures (visible, at the lead unit,
  live or closed within DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS, not linked to a lead), every row parsed and
  `supervision.matching.compare`d, the best DUBAN_DUPLICATE_MAX_CANDIDATES kept with their reasons.
  It starts from the new matter's text too (signature() included), so it is compared with
  duplicate_candidates; it returns the same candidates (checked: ids and scores).

Passes: "cold-ish" — a new database connection (a fresh backend: no catalog cache, no plans) for every
call, opened before the timer, and the first time each matter is looked up; the service and the
baseline take turns going first. The OS page cache is not dropped (the machine is shared), so this is
not a cold disk. "warm" — the same lookups again over one connection. Then, for saved items
(`candidates_many`, as intake and import call it): `candidates_for_item` for items already on the
ledger, one at a time, and one `candidates_many` call for a batch of `--batch` saved items spread over
the units (an import), each next to the baseline doing the same per item.

Prints p50/p95/max per variant and pass, the ratio to the baseline, candidate counts, how many pool
items the SQL scoring hands over (`read`) and how many of those are parsed and compared before the
best are known (`compared`), and the machine's load average. A benchmark prints; it does not assert."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = "postgres://postgres@127.0.0.1:5432"
DATA = ROOT / "tests" / "supervision" / "data"
TARGET_MS = 100.0


def pad(text: str, width: int) -> str:
    """Left-aligned in `width` columns, a Chinese character taking two."""
    return text + " " * max(1, width - sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def setup(database: str) -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{database}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    import django

    django.setup()


# ---------------------------------------------------------------------------------------------
# The baseline: one hand-written query for the unit's pool, then compare() on every row


class Baseline:
    """What a developer would write: read the pool with its signatures in one query, compare all."""

    def __init__(self, conn, *, clearance: int, threshold: float, shown: int, window_days: int):
        from supervision.choices import DONE_STATUSES
        from supervision.services.candidate_pool import LIVE_STATUSES

        self.conn, self.clearance, self.threshold, self.shown = conn, clearance, threshold, shown
        self.window = datetime.timedelta(days=window_days)
        self.live = [str(s) for s in LIVE_STATUSES]
        self.done = [str(s) for s in DONE_STATUSES]

    def pool(self, unit_id: int):
        cutoff = datetime.datetime.now(datetime.UTC) - self.window
        return self.conn.execute(
            """
            SELECT i.id, i.code, i.title, i.status, s.data
              FROM supervision_item i
              JOIN supervision_itemsignature s ON s.item_id = i.id
             WHERE i.lead_unit_id = %s
               AND i.classification <= %s
               AND (i.status = ANY(%s) OR (i.status = ANY(%s) AND i.closed_at >= %s))
               AND NOT EXISTS (SELECT 1 FROM supervision_itemlink l WHERE l.item_id = i.id AND l.unlinked_at IS NULL)
            """,
            [unit_id, self.clearance, self.live, self.done, cutoff],
        ).fetchall()

    def matches(self, new, rows, exclude=frozenset()):
        """Every duplicate in the rows, best first: (score, id, code, title, status, match)."""
        from supervision.matching import Signature, compare

        found = []
        for pk, code, title, status, data in rows:
            if pk in exclude:
                continue
            match = compare(new, Signature.from_json(data), threshold=self.threshold)
            if match.duplicate:
                found.append((match.score, pk, code, title, status, match))
        found.sort(key=lambda m: (-m[0], m[1]))
        return found

    def candidates(self, new, unit_id: int, exclude=frozenset()) -> tuple[list[tuple[int, float, list[str]]], int]:
        """The shown candidates (id, score, reasons) and how many duplicates the pool held."""
        found = self.matches(new, self.pool(unit_id), exclude)
        return [(pk, score, match.reasons) for score, pk, _c, _t, _s, match in found[: self.shown]], len(found)


# ---------------------------------------------------------------------------------------------
# Matters to look up

_FRAMING = re.compile(r"^(?:关于|群众反映|加快推进|推进|整改|落实|督促解决|加快|做好|研究解决|排查整治)+|(?:的批示|问题)$")
_TOWN = re.compile(r"^[\u4e00-\u9fff]{2,3}?(?:镇|乡|街道)(?=[\u4e00-\u9fff]{4,})")


def near_duplicate(rng: random.Random, title: str, requirement: str) -> tuple[str, str]:
    """The same matter as another source would write it."""
    core = _FRAMING.sub("", _FRAMING.sub("", title))
    core = re.sub(r"（[^）]*）$", "", core) if rng.random() < 0.5 else core
    form = rng.randrange(5)
    if form == 0:
        new = f"关于{core}的批示"
    elif form == 1:
        new = f"加快推进{core}"
    elif form == 2:
        new = f"群众反映{core}问题"
    elif form == 3 and _TOWN.match(core):
        new = _TOWN.sub("", core)  # the township left out
    else:
        new = f"{core}工作"
    text = rng.random()
    if text < 0.4:
        req = requirement
    elif text < 0.7:
        req = f"请于{rng.randint(1, 12)}月底前完成{core}，并报送结果。"
    else:
        req = ""
    return new, req


def labelled_matters() -> list[tuple[str, str]]:
    out = {}
    for name in ("duplicate_pairs.jsonl", "duplicate_pairs_holdout.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                pair = json.loads(line)
                for side in (pair["a"], pair["b"]):
                    out[side["title"]] = side.get("text", "")
    return list(out.items())


class Lookup:
    def __init__(self, kind, unit, title, requirement, supporting, instruction, source_id=None):
        self.kind, self.unit, self.title, self.requirement = kind, unit, title, requirement
        self.supporting, self.instruction, self.source_id = supporting, instruction, source_id
        self.signature = None
        self.times: dict[str, list[float]] = {}
        self.shown: dict[str, list[tuple[int, float]]] = {}
        self.pool_duplicates = 0

    def matter(self):
        from supervision.services.signatures import matter_of

        return matter_of(
            title=self.title,
            requirement=self.requirement,
            lead_unit=self.unit,
            supporting_units=self.supporting,
            instruction=self.instruction,
        )


def make_lookups(rng: random.Random, units, per_unit: int, seed: int) -> list[Lookup]:
    from accounts.models import Unit
    from bench.generate_ledger import SUBJECTS, TOPICS, MatterWords
    from supervision.models import Instruction, Item
    from supervision.services.candidate_pool import LIVE_STATUSES

    words = MatterWords(seed + 1)
    labelled = labelled_matters()
    rng.shuffle(labelled)
    last_instruction = Instruction.objects.order_by("-pk").values_list("pk", flat=True).first()
    others = list(Unit.objects.filter(kind__in=["department", "township"]).order_by("pk"))
    lookups: list[Lookup] = []
    for unit in units:
        live = list(Item.objects.filter(lead_unit=unit, status__in=LIVE_STATUSES).values_list("pk", flat=True))
        titles = set(Item.objects.filter(lead_unit=unit).values_list("title", flat=True).iterator(chunk_size=5000))
        for n in range(per_unit):
            # Registered under an instruction already on the ledger (another one than the source's).
            instruction = Instruction.objects.filter(pk__gte=rng.randint(1, last_instruction)).order_by("pk").first()
            supporting = rng.sample([u for u in others if u.pk != unit.pk], rng.choice((0, 0, 1, 1, 2)))
            if n % 2 == 0:
                source = Item.objects.get(pk=rng.choice(live))
                title, requirement = near_duplicate(rng, source.title, source.requirement)
                lookups.append(Lookup("near-duplicate", unit, title, requirement, supporting, instruction, source.pk))
                continue
            while True:
                if n % 4 == 1:
                    title, requirement = words.matter(rng.choice(SUBJECTS), rng.choice(TOPICS))
                else:
                    title, requirement = labelled.pop()
                if title not in titles:
                    break
            lookups.append(Lookup("new matter", unit, title, requirement, supporting, instruction))
    rng.shuffle(lookups)
    return lookups


# ---------------------------------------------------------------------------------------------
# Timing


class Load:
    def __init__(self):
        self.samples: list[float] = []

    def sample(self) -> None:
        self.samples.append(os.getloadavg()[0])

    def __str__(self) -> str:
        s = self.samples
        return f"load average (1 min) during the run: min {min(s):.1f}, median {statistics.median(s):.1f}, max {max(s):.1f}"


def fresh_connections(pg_url: str, baseline: Baseline) -> None:
    """A new backend for the next call of each side, connected before the timer starts."""
    import psycopg
    from django.db import connection

    connection.close()
    connection.ensure_connection()
    baseline.conn.close()
    baseline.conn = psycopg.connect(pg_url, autocommit=True)


def run_pass(label: str, lookups: list[Lookup], *, user, baseline: Baseline, cold: bool, pg_url: str, load: Load) -> None:
    from supervision.matching import signature
    from supervision.services.duplicates import duplicate_candidates, lookup

    clock = time.perf_counter
    for n, lk in enumerate(lookups):
        load.sample()

        def service(lk=lk):
            start = clock()
            found = duplicate_candidates(
                user=user,
                title=lk.title,
                requirement=lk.requirement,
                lead_unit=lk.unit,
                supporting_units=lk.supporting,
                instruction=lk.instruction,
            )
            lk.times.setdefault(f"{label}:duplicate_candidates", []).append(clock() - start)
            lk.shown[f"{label}:service"] = [(c.item.pk, c.score) for c in found]

        def hand(lk=lk):
            start = clock()
            new = signature(lk.matter())
            shown, total = baseline.candidates(new, lk.unit.pk)
            lk.times.setdefault(f"{label}:baseline", []).append(clock() - start)
            lk.shown[f"{label}:baseline"] = [(pk, score) for pk, score, _r in shown]
            lk.pool_duplicates = total

        for side in (service, hand) if n % 2 == 0 else (hand, service):
            if cold:
                fresh_connections(pg_url, baseline)
            side()
        if cold:
            fresh_connections(pg_url, baseline)
        start = clock()
        lookup(user=user, new=lk.signature, lead_unit=lk.unit)
        lk.times.setdefault(f"{label}:lookup", []).append(clock() - start)


def saved_items(rng: random.Random, units, per_unit: int):
    from supervision.models import Item
    from supervision.services.candidate_pool import LIVE_STATUSES

    items = []
    for unit in units:
        live = list(Item.objects.filter(lead_unit=unit, status__in=LIVE_STATUSES).values_list("pk", flat=True))
        items += Item.objects.filter(pk__in=rng.sample(live, min(per_unit, len(live)))).select_related("lead_unit")
    return items


def run_saved(items, batch, *, user, baseline: Baseline, load: Load) -> dict[str, list[float]]:
    """candidates_for_item one saved item at a time, and candidates_many for a batch, each next to the baseline."""
    from supervision.matching import Signature
    from supervision.models import ItemSignature
    from supervision.services.duplicates import candidates_for_item, candidates_many

    clock = time.perf_counter
    times: dict[str, list[float]] = {"candidates_for_item": [], "baseline (one item)": []}
    same = 0
    for n, item in enumerate(items):
        load.sample()
        results = {}

        def service(item=item, results=results):
            start = clock()
            results["service"] = [(c.item.pk, c.score) for c in candidates_for_item(user=user, item=item)]
            times["candidates_for_item"].append(clock() - start)

        def hand(item=item, results=results):
            start = clock()
            data = baseline.conn.execute("SELECT data FROM supervision_itemsignature WHERE item_id = %s", [item.pk]).fetchone()[0]
            shown, _total = baseline.candidates(Signature.from_json(data), item.lead_unit_id, exclude={item.pk})
            times["baseline (one item)"].append(clock() - start)
            results["baseline"] = [(pk, score) for pk, score, _r in shown]

        for side in (service, hand) if n % 2 == 0 else (hand, service):
            side()
        same += results["service"] == results["baseline"]

    start = clock()
    many = candidates_many(user=user, items=batch)
    times["candidates_many (batch)"] = [clock() - start]
    start = clock()
    own = {
        pk: Signature.from_json(data)
        for pk, data in ItemSignature.objects.filter(item_id__in=[i.pk for i in batch]).values_list("item_id", "data")
    }
    by_unit: dict[int, list] = {}
    for item in batch:
        by_unit.setdefault(item.lead_unit_id, []).append(item)
    hand_many = {}
    for unit_id, unit_items in by_unit.items():
        rows = baseline.pool(unit_id)  # one query per unit, like the service
        for item in unit_items:
            found = baseline.matches(own[item.pk], rows, exclude={item.pk})
            if found:
                hand_many[item.pk] = [(pk, score) for score, pk, *_rest in found[: baseline.shown]]
                for _s, _pk, _c, _t, _st, match in found[: baseline.shown]:
                    match.reasons  # noqa: B018
    times["baseline (batch)"] = [clock() - start]
    service_many = {pk: [(c.item.pk, c.score) for c in cands] for pk, cands in many.items() if cands}
    times["_same_one"] = [same]
    times["_same_batch"] = [float(service_many == hand_many)]
    times["_batch_with_candidates"] = [len(service_many)]
    return times


def row(label: str, values: list[float], base: list[float] | None, extra: str = "") -> str:
    ms = [v * 1000 for v in values]
    text = f"{label:42}{len(ms):>5}{statistics.median(ms):>9.1f}{p95(ms):>9.1f}{max(ms):>9.1f}"
    if base:
        bms = [v * 1000 for v in base]
        text += f"{statistics.median(bms):>10.1f}{p95(bms):>9.1f}{statistics.median(ms) / statistics.median(bms):>8.2f}"
        text += f"{p95(ms) / p95(bms):>8.2f}"
    else:
        text += " " * 42
    return text + extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="duban_bench_1m")
    parser.add_argument("--units", type=int, default=4, help="lead units with the most live items")
    parser.add_argument("--lookups", type=int, default=240)
    parser.add_argument("--saved", type=int, default=10, help="saved items per unit for candidates_for_item")
    parser.add_argument("--batch", type=int, default=50, help="saved items in one candidates_many call")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="cProfile the warm duplicate_candidates calls")
    args = parser.parse_args()
    if not args.database.startswith("duban_bench"):
        raise SystemExit("use a duban_bench_* database made by bench/generate_ledger.py")
    load = Load()
    load.sample()
    setup(args.database)

    import psycopg
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from accounts.models import Unit, User
    from supervision.matching import compare, duplicate_threshold, signature
    from supervision.models import Item, ItemSignature
    from supervision.services import candidate_pool, duplicates, signatures
    from supervision.services.candidate_pool import LIVE_STATUSES

    pg_url = f"{PG}/{args.database}".replace("postgres://", "postgresql://")
    rng = random.Random(args.seed)
    items = Item.objects.count()
    signed = ItemSignature.objects.count()
    if signed < items:
        raise SystemExit(f"{items - signed:,} of {items:,} items have no stored signature: generate the ledger with signatures")
    # An office staff member of the highest clearance: every item is visible (the largest pools).
    user = User.objects.filter(role_assignments__role="office_staff", is_active=True).order_by("-clearance", "pk").first()
    by_live = list(
        Item.objects.filter(status__in=LIVE_STATUSES)
        .values("lead_unit")
        .annotate(n=Count("pk"))
        .order_by("-n", "lead_unit")
        .values_list("lead_unit", "n")
    )
    top = by_live[: args.units]
    # For scale, not in the totals: the unit in the middle of the ranking (a typical lead unit).
    typical = by_live[len(by_live) // 2]
    units = [Unit.objects.get(pk=pk) for pk, _n in [*top, typical]]
    live_count = dict(by_live)
    worst_ids = {pk for pk, _n in top}
    now = timezone.now()

    signature(signatures.matter_of(title="预热分词词典"))  # jieba's dictionary: a web worker has it loaded
    threshold = duplicate_threshold()
    baseline = Baseline(
        psycopg.connect(pg_url, autocommit=True),
        clearance=user.clearance,
        threshold=threshold,
        shown=settings.DUBAN_DUPLICATE_MAX_CANDIDATES,
        window_days=settings.DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS,
    )

    started = time.perf_counter()
    lookups = make_lookups(rng, units, max(2, args.lookups // len(top)), args.seed)
    for lk in lookups:
        lk.signature = signature(lk.matter())
    print(f"database {args.database}: {items:,} items, {signed:,} signatures; as {user.username} (clearance {user.clearance})")
    print(
        f"threshold {threshold}, shown at most {baseline.shown}, closed window {settings.DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS} days"
    )
    worst = [lk for lk in lookups if lk.unit.pk in worst_ids]
    print(
        f"{len(worst)} lookups at the {len(top)} units with the most live items"
        f" ({sum(lk.kind == 'near-duplicate' for lk in worst)} near-duplicates), {len(lookups) - len(worst)} more at a typical"
        f" unit; prepared in {time.perf_counter() - started:.1f} s"
    )
    pools, fetched, compared = {}, {}, {}
    for unit in units:
        rows = candidate_pool.pool_rows(user, [unit.pk], now)
        pools[unit.pk] = len(rows)
        for lk in lookups:
            if lk.unit.pk == unit.pk:
                # What the service reads (on PostgreSQL: the items the SQL scoring hands over, best
                # bound first) and how many of those it parses and compares before the best are known.
                if candidate_pool.narrowing():
                    read = candidate_pool.scored_rows(lk.signature, unit.pk, now, threshold)
                    parsed = signatures.signatures_parsed(pk for pk, _bound in read)
                    scores: list[float] = []
                    compared[lk] = 0
                    for pk, bound in read:
                        if len(scores) >= baseline.shown and bound < scores[baseline.shown - 1]:
                            break
                        compared[lk] += 1
                        match = compare(lk.signature, parsed[pk], threshold=threshold)
                        if match.duplicate:
                            scores = sorted([*scores, match.score], reverse=True)
                else:
                    reach = candidate_pool.may_match(lk.signature, threshold)
                    read = rows
                    compared[lk] = sum(1 for row in rows if reach(row[2] or ""))
                fetched[lk] = len(read)
    connection.close()

    passes = (("cold-ish", True), ("warm", False))
    for label, cold in passes:
        run_pass(label, lookups, user=user, baseline=baseline, cold=cold, pg_url=pg_url, load=load)
    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for lk in lookups:
            duplicates.duplicate_candidates(
                user=user,
                title=lk.title,
                requirement=lk.requirement,
                lead_unit=lk.unit,
                supporting_units=lk.supporting,
                instruction=lk.instruction,
            )
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)

    top_units = [unit for unit in units if unit.pk in worst_ids]
    saved = saved_items(rng, top_units, args.saved)
    batch = saved_items(rng, top_units, max(1, args.batch // len(top_units)))
    saved_times = run_saved(saved, batch, user=user, baseline=baseline, load=load)
    load.sample()

    print("\nat the units with the most live items:")
    print(f"{'ms':42}{'n':>5}{'p50':>9}{'p95':>9}{'max':>9}{'base p50':>10}{'p95':>9}{'p50 ×':>8}{'p95 ×':>8}")
    for label, _cold in passes:
        collected = {
            key: [t for lk in worst for t in lk.times[f"{label}:{key}"]] for key in ("duplicate_candidates", "lookup", "baseline")
        }
        print(row(f"{label}: duplicate_candidates", collected["duplicate_candidates"], collected["baseline"]))
        print(row(f"{label}: lookup (signature given)", collected["lookup"], None))
        print(row(f"{label}: baseline (hand SQL + compare all)", collected["baseline"], None))
        for kind in ("near-duplicate", "new matter"):
            subset = [lk for lk in worst if lk.kind == kind]
            print(
                row(
                    f"  {kind}s: duplicate_candidates",
                    [t for lk in subset for t in lk.times[f"{label}:duplicate_candidates"]],
                    [t for lk in subset for t in lk.times[f"{label}:baseline"]],
                )
            )
    print(row("saved item: candidates_for_item", saved_times["candidates_for_item"], saved_times["baseline (one item)"]))
    print(
        row(
            f"import batch of {len(batch)}: candidates_many",
            saved_times["candidates_many (batch)"],
            saved_times["baseline (batch)"],
        )
    )

    print(
        f"\n{'per lead unit (duplicate_candidates, ms)':40}{'live':>7}{'pool':>7}{'read':>7}{'compared':>9}"
        f"{'cold p50':>9}{'p95':>7}{'warm p50':>9}{'p95':>7}{'base p50':>9}{'p95':>7}"
    )
    for unit in units:
        subset = [lk for lk in lookups if lk.unit.pk == unit.pk]
        cold = [t * 1000 for lk in subset for t in lk.times["cold-ish:duplicate_candidates"]]
        warm = [t * 1000 for lk in subset for t in lk.times["warm:duplicate_candidates"]]
        base = [t * 1000 for lk in subset for t in lk.times["warm:baseline"]]
        name = unit.name + ("" if unit.pk in worst_ids else " (typical)")
        print(
            f"{pad(name, 40)}{live_count[unit.pk]:>7,}{pools[unit.pk]:>7,}{statistics.median(fetched[lk] for lk in subset):>7,.0f}"
            f"{statistics.median(compared[lk] for lk in subset):>9,.0f}"
            f"{statistics.median(cold):>9.1f}{p95(cold):>7.1f}{statistics.median(warm):>9.1f}{p95(warm):>7.1f}"
            f"{statistics.median(base):>9.1f}{p95(base):>7.1f}"
        )

    same = sum(lk.shown[f"{p}:service"] == lk.shown[f"{p}:baseline"] for lk in lookups for p, _c in passes)
    print(
        f"\nsame candidates (ids and scores) as the baseline: {same} of {2 * len(lookups)} lookups,"
        f" {int(saved_times['_same_one'][0])} of {len(saved)} saved items,"
        f" batch {'same' if saved_times['_same_batch'][0] else 'DIFFERENT'}"
        f" ({int(saved_times['_batch_with_candidates'][0])} of {len(batch)} items with candidates)"
    )
    for kind in ("near-duplicate", "new matter"):
        subset = [lk for lk in worst if lk.kind == kind]
        shown = [len(lk.shown["warm:service"]) for lk in subset]
        pool = [lk.pool_duplicates for lk in subset]
        text = (
            f"{kind}s ({len(subset)}): candidates shown p50 {statistics.median(shown):.0f}, max {max(shown)}; "
            f"with any {sum(1 for s in shown if s)}; duplicates in the pool p50 {statistics.median(pool):.0f}, "
            f"p95 {p95(pool)}, max {max(pool)}"
        )
        if kind == "near-duplicate":
            found = sum(1 for lk in subset if lk.source_id in {pk for pk, _s in lk.shown["warm:service"]})
            text += f"; source item among the candidates: {found} of {len(subset)}"
        print(text)
    top_p95 = p95(
        [t * 1000 for lk in worst for t in lk.times["cold-ish:duplicate_candidates"] + lk.times["warm:duplicate_candidates"]]
    )
    verdict = "PASS" if top_p95 < TARGET_MS else "FAIL"
    print(
        f"\ntarget p95 < {TARGET_MS:.0f} ms per lookup (duplicate_candidates, both passes, largest units): {verdict} ({top_p95:.1f} ms)"
    )
    print(load)


if __name__ == "__main__":
    main()
