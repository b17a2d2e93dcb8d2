"""Comparing the handling times of several kinds of account (docs/security.md, rules 42 and the
enumeration suite): within 10% of each other.

A shared machine's load comes and goes over seconds, and the suite runs where other work runs.
So the kinds take turns in a shuffled order in every round, and two kinds are compared by the
median, over the rounds, of the one's time divided by the other's in the same round: a busy
second slows both alike and cancels out. A step over the limit is sampled again for as many
rounds and judged on all of them, twice at most: a real difference stays, a passing burst of
load does not.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Callable, Iterable

LIMIT = 1.10
# A step over the limit is sampled again with these orders, at most, while it stays over.
AGAIN = (2, 3)

# times[step][kind] holds one time per round, the rounds in the same order for every kind.
Times = dict[str, dict[str, list[float]]]


def orders(kinds: Iterable[str], rounds: int, seed: int) -> list[list[str]]:
    """The order the kinds take their turns in, round by round."""
    chooser, kinds = random.Random(seed), list(kinds)
    return [chooser.sample(kinds, len(kinds)) for _ in range(rounds)]


def spread(times: dict[str, list[float]]) -> float:
    """The largest difference between two kinds: for each pair, the median over the rounds of
    the one's time divided by the other's in the same round."""
    kinds = list(times)
    rounds = min(len(values) for values in times.values())
    widest = 1.0
    for first, second in itertools.combinations(kinds, 2):
        ratio = statistics.median(times[first][i] / times[second][i] for i in range(rounds))
        widest = max(widest, ratio, 1 / ratio)
    return widest


def report(times: Times) -> str:
    lines = []
    for step, by_kind in times.items():
        medians = {kind: statistics.median(values) for kind, values in by_kind.items()}
        lines.append(
            f"{step:40} {spread(by_kind):5.3f} "
            + " ".join(f"{kind}={value * 1000:.2f}ms" for kind, value in medians.items())
        )
    return "\n".join(lines)


def too_slow(times: Times, limit: float = LIMIT) -> dict[str, float]:
    return {step: ratio for step, by_kind in times.items() if (ratio := spread(by_kind)) > limit}


def judged(
    sample: Callable[[list[list[str]]], Times], kinds: Iterable[str], rounds: int, limit=LIMIT
) -> tuple[dict[str, float], str]:
    """Sample `rounds` rounds (`sample` is given each round's order of the kinds); steps over
    the limit get as many rounds again, in other orders, and are judged on all of them (again,
    at most twice, while they stay over)."""
    kinds = list(kinds)
    times = sample(orders(kinds, rounds, seed=1))
    slow = too_slow(times, limit)
    for seed in AGAIN:
        if not slow:
            break
        more = sample(orders(kinds, rounds, seed=seed))
        for step in slow:
            for kind, values in more[step].items():
                times[step][kind].extend(values)
        slow = {step: ratio for step, ratio in too_slow(times, limit).items() if step in slow}
    return slow, report(times)
