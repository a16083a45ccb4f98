"""Small helpers shared by the benchmarks."""

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The best wall time (s) of several runs: the least disturbed by the rest of the machine."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def best_of_interleaved(fns: list[Callable[[], object]], repeat: int = 5) -> list[float]:
    """Best wall time of each function, their runs interleaved so that a busy spell of the
    machine falls on all of them alike rather than on whichever ran then."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            started = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - started)
    return best


def line(name: str, figure: str, baseline: str, ratio: float, verdict: str = "") -> str:
    tail = f"  {verdict}" if verdict else ""
    return f"{name}: {figure} (baseline: {baseline}, ratio {ratio:.2f}){tail}"
