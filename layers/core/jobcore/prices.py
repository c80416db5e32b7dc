"""The price file (`prices.json` beside this module): every price the cost ledger and the capacity
simulator use, each with its source and date. One file, so a price is changed in one place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Price:
    name: str
    usd: float
    unit: str
    source: str
    date: str


@dataclass(frozen=True)
class PriceBook:
    region: str
    prices: dict[str, Price]

    def usd(self, name: str) -> float:
        try:
            return self.prices[name].usd
        except KeyError:
            raise KeyError(f"no price named {name!r} in the price file") from None


def parse_prices(text: str) -> PriceBook:
    raw = json.loads(text)
    prices = {}
    for name, entry in raw["prices"].items():
        for key in ("usd", "unit", "source", "date"):
            if key not in entry:
                raise ValueError(f"price {name!r} has no {key!r}")
        prices[name] = Price(name, float(entry["usd"]), entry["unit"], entry["source"], entry["date"])
    return PriceBook(region=raw["region"], prices=prices)


@cache
def default_prices() -> PriceBook:
    return parse_prices(resources.files("jobcore").joinpath("prices.json").read_text(encoding="utf-8"))


def load_prices(path: Path | None = None) -> PriceBook:
    return default_prices() if path is None else parse_prices(path.read_text(encoding="utf-8"))
