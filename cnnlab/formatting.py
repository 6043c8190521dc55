"""Numbers as people read them in tables, figures and messages: significant figures,
decimal prefixes, ordinals. One room, so the zoo, the throughput table, the design
report and the run report write a count the same way."""

from __future__ import annotations


def _round_sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}") if x else 0.0


def sig3(x: float) -> str:
    """Three significant figures, thousands separated: 14055 -> '14,100', 13.85 -> '13.8'."""
    r = _round_sig(x)
    return f"{r:,.0f}" if abs(r) >= 100 else f"{r:.3g}"


def si(x: float, digits: int = 3) -> str:
    """An SI-prefixed count to ``digits`` significant figures, trailing zeros dropped
    (axis ticks read '1M', not '1.00M'): 281640 -> '282K', 1.8e9 -> '1.8G'."""
    r = _round_sig(x, digits)
    if r == 0:
        return "0"
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(r) >= scale:
            return f"{r / scale:.{digits}g}{prefix}"
    return f"{r:.{digits}g}"


def format_count(n: float) -> str:
    """A count in three significant figures with a decimal prefix, zeros kept so a
    column's values line up: 2.41M, 1.80G, 290K, 45.3K, 999 (the same precision for
    MACs, parameters and activations)."""
    n = float(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale * 0.9995:  # 999,600 is 1.00M, not 1000K
            value = n / scale
            for decimals in (2, 1):  # 1.68, 45.3, unless rounding makes it 10.00, 100.0
                if abs(value) < 10 ** (3 - decimals) - 0.5 * 10 ** -decimals:
                    return f"{value:.{decimals}f}{unit}"
            return f"{value:.0f}{unit}"
    return f"{n:.0f}"


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
