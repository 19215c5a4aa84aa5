"""`python -m bench.catalogue`: what a message costs to word, per language (the gettext lookup,
the plural form, Babel's numbers and prices), in microseconds per call (median of 5 runs)."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable

from adapters.chat.catalogue import Catalogue

CALLS = 20_000
AT = dt.datetime(2026, 3, 10, 9, 15, tzinfo=dt.UTC)


def per_call_us(work: Callable[[], object]) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(CALLS):
            work()
        runs.append((time.perf_counter() - start) / CALLS * 1e6)
    return statistics.median(runs)


def figures_of(catalogue: Catalogue, language: str) -> dict[str, float]:
    def pack() -> str:
        price = catalogue.price(3500, "usd", language)
        return catalogue.text("offer_pack", language, title="Pro", credits=1000, price=price)

    balance = {"available": 5, "free": 5, "paid": 0, "held_part": "", "plan": "free", "generations": 1, "spent": 2}
    return {
        f"plain_{language}": per_call_us(lambda: catalogue.text("jobs_header", language)),
        f"balance_{language}": per_call_us(lambda: catalogue.text("balance", language, frozen_part="", **balance)),
        f"plural_{language}": per_call_us(lambda: catalogue.text("you_have", language, available=21)),
        f"pack_{language}": per_call_us(pack),
        f"moment_{language}": per_call_us(lambda: catalogue.text("next_daily", language, when=AT)),
    }


def main() -> None:
    catalogue = Catalogue()
    figures: dict[str, float] = {}
    for language in catalogue.languages:
        figures.update(figures_of(catalogue, language))
    for name, value in figures.items():
        print(f"{name}: {value:.1f} us")
    print(f"catalogue {' '.join(f'{k}_us={v:.1f}' for k, v in figures.items())}")


if __name__ == "__main__":
    main()
