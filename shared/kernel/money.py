"""Money is integer öre (domain.md: "Money is integer öre"). Never a float, never a Decimal in an
event: amounts cross every boundary as ``int`` and only arithmetic with rates goes through Decimal,
rounded once, half up, to whole öre."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ORE_PER_KRONA = 100


def round_ore(amount: Decimal) -> int:
    """Round an amount in öre to whole öre, half away from zero (commercial rounding)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of(amount_ore: int, percent: Decimal | int) -> int:
    """``percent`` % of ``amount_ore``, rounded to whole öre."""
    return round_ore(Decimal(amount_ore) * Decimal(percent) / Decimal(100))


def format_sek(amount_ore: int) -> str:
    """Swedish presentation: ``1 245,00 kr``; a minus sign for credits."""
    sign = "-" if amount_ore < 0 else ""
    kronor, ore = divmod(abs(amount_ore), ORE_PER_KRONA)
    grouped = f"{kronor:,}".replace(",", "\u00a0")
    return f"{sign}{grouped},{ore:02d} kr"
