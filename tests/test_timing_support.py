"""The way the timing tests compare kinds of account (tests/support/timing.py): a busy stretch
that slows every kind alike does not count as a difference; a kind that is really 15% slower is
found even through noise and drift."""

import random

from tests.support import timing


def sampled(slower: float, seed: int = 7):
    noise = random.Random(seed)
    kinds = ["a", "b", "c", "d", "e"]

    def sample(orders):
        times = {"step": {kind: [] for kind in kinds}}
        for index, order in enumerate(orders):
            load = 3.0 if (index // 20) % 2 else 1.0  # whole stretches three times slower
            for kind in order:
                base = 0.002 * (slower if kind == "e" else 1.0)
                spike = 5.0 if noise.random() < 0.05 else 1.0
                times["step"][kind].append(base * load * spike * noise.uniform(0.9, 1.1))
        return times

    return sample, kinds


def test_load_that_slows_every_kind_alike_is_not_a_difference():
    sample, kinds = sampled(slower=1.0)
    slow, _report = timing.judged(sample, kinds, 200)
    assert slow == {}


def test_a_kind_fifteen_percent_slower_is_found():
    sample, kinds = sampled(slower=1.15)
    slow, report = timing.judged(sample, kinds, 200)
    assert set(slow) == {"step"}, report
    assert 1.12 < slow["step"] < 1.18
