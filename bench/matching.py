"""Benchmark: the duplicate-matter detector (issue 15), speed and quality next to a plain baseline.

    .venv/bin/python bench/matching.py [--repeat 5] [--open-items 3000] [--lookups 200]

No database: the detector is pure Python over precomputed signatures. It reads the labelled pairs in
tests/supervision/data/ (both files) and measures, in one run:

1. signature(): the once-per-item cost (segmentation, entities, unit key), median and p95;
2. compare() on every labelled pair (all of them similar-looking: the hard case), each comparison
   timed on its own — median and p95 in µs — and comparisons per second over --repeat tight loops;
3. the same for a hand-written baseline, difflib.SequenceMatcher(None, title_a, title_b).ratio(),
   and the ratio detector / baseline;
4. a lookup as registration will run it: one new item against --open-items open items of a unit
   (the labelled matters, repeated to that count), --lookups times: median and p95 in ms (target
   < 100 ms for a few thousand items);
5. quality on both files: the detector's precision/recall/F1 at its threshold next to the baseline's
   best (threshold chosen on the file itself, so flattering to the baseline).

A benchmark prints; it does not assert."""

from __future__ import annotations

import argparse
import difflib
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from supervision.matching import MatterText, compare, duplicate_threshold, signature  # noqa: E402
from supervision.matching.evaluation import evaluate, read_pairs  # noqa: E402

DATA = ROOT / "tests" / "supervision" / "data"
FILES = ("duplicate_pairs.jsonl", "duplicate_pairs_holdout.jsonl")


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def timed_each(fn, pairs) -> list[float]:
    """Each call timed on its own, in µs."""
    out = []
    clock = time.perf_counter_ns
    for a, b in pairs:
        start = clock()
        fn(a, b)
        out.append((clock() - start) / 1000)
    return out


def throughput(fn, pairs, repeat: int) -> float:
    """Calls per second over tight loops (the best of `repeat`)."""
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for a, b in pairs:
            fn(a, b)
        best = max(best, len(pairs) / (time.perf_counter() - start))
    return best


def baseline(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def baseline_quality(pairs) -> tuple[float, float, float, float]:
    """The baseline's best F1 over thresholds 0.30–0.95 on the given pairs: (threshold, P, R, F1)."""
    scored = [(baseline(p.a.title, p.b.title), p.duplicate) for p in pairs]
    best = (0.0, 0.0, 0.0, 0.0)
    for step in range(30, 96):
        t = step / 100
        tp = sum(1 for s, d in scored if s >= t and d)
        fp = sum(1 for s, d in scored if s >= t and not d)
        fn = sum(1 for s, d in scored if s < t and d)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best[3]:
            best = (t, p, r, f1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--open-items", type=int, default=3000)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()

    labelled = {name: read_pairs(DATA / name) for name in FILES}
    all_pairs = [pair for pairs in labelled.values() for pair in pairs]
    matters: list[MatterText] = list(dict.fromkeys(m for pair in all_pairs for m in (pair.a, pair.b)))

    signature(matters[0])  # load jieba's dictionary and IDF table outside the timing
    sig_times, signatures = [], {}
    for matter in matters:
        start = time.perf_counter_ns()
        signatures[matter] = signature(matter)
        sig_times.append((time.perf_counter_ns() - start) / 1000)
    sig_pairs = [(signatures[p.a], signatures[p.b]) for p in all_pairs]
    title_pairs = [(p.a.title, p.b.title) for p in all_pairs]

    print(
        f"labelled pairs: {len(all_pairs)} ({', '.join(f'{n}: {len(p)}' for n, p in labelled.items())}); distinct matters: {len(matters)}"
    )
    print(f"\nsignature() per item: median {statistics.median(sig_times):.0f} µs, p95 {p95(sig_times):.0f} µs")

    ours = [t for _ in range(args.repeat) for t in timed_each(compare, sig_pairs)]
    theirs = [t for _ in range(args.repeat) for t in timed_each(baseline, title_pairs)]
    ours_rate = throughput(compare, sig_pairs, args.repeat)
    theirs_rate = throughput(baseline, title_pairs, args.repeat)
    print("\nper comparison, labelled pairs (each timed alone, µs; rate from tight loops):")
    print(f"{'':42}{'median':>8}{'p95':>8}{'per second':>14}")
    print(f"{'compare(signature, signature)':42}{statistics.median(ours):8.1f}{p95(ours):8.1f}{ours_rate:14,.0f}")
    print(f"{'difflib SequenceMatcher ratio of titles':42}{statistics.median(theirs):8.1f}{p95(theirs):8.1f}{theirs_rate:14,.0f}")
    print(
        f"detector / baseline time: ×{statistics.median(ours) / statistics.median(theirs):.2f} (medians),"
        f" ×{theirs_rate / ours_rate:.2f} (from the rates)"
    )
    print(f"target ≥ 20,000 comparisons/s: {'PASS' if ours_rate >= 20000 else 'FAIL'} ({ours_rate:,.0f}/s)")

    rng = random.Random(15)
    pool = [signatures[m] for m in matters]
    open_items = [pool[i % len(pool)] for i in range(args.open_items)]
    limit = duplicate_threshold()
    lookup_ms = []
    for _ in range(args.lookups):
        new = rng.choice(pool)
        start = time.perf_counter()
        candidates = [m for m in (compare(new, item, threshold=limit) for item in open_items) if m.duplicate]
        candidates.sort(key=lambda m: m.score, reverse=True)
        for match in candidates[:5]:  # what registration shows: the reasons of the best few
            match.reasons  # noqa: B018
        lookup_ms.append((time.perf_counter() - start) * 1000)
    print(
        f"\nlookup: one new item against {args.open_items:,} open items, {args.lookups} times:"
        f" median {statistics.median(lookup_ms):.1f} ms, p95 {p95(lookup_ms):.1f} ms"
        f" — target < 100 ms: {'PASS' if p95(lookup_ms) < 100 else 'FAIL'}"
    )

    print(f"\nquality (detector at threshold {limit:.2f}; baseline at its best threshold on each file):")
    print(f"{'file':34}{'':14}{'P':>7}{'R':>7}{'F1':>7}")
    for name, pairs in labelled.items():
        result = evaluate(pairs, threshold=limit)
        t, bp, br, bf = baseline_quality(pairs)
        print(f"{name:34}{'detector':14}{result.precision:7.3f}{result.recall:7.3f}{result.f1:7.3f}")
        print(f"{'':34}{f'difflib@{t:.2f}':14}{bp:7.3f}{br:7.3f}{bf:7.3f}")


if __name__ == "__main__":
    main()
