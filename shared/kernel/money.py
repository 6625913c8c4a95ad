"""Money is integer öre (domain.md: "Money is integer öre"). Never a float, never a Decimal in an
event: amounts cross every boundary as ``int`` and only arithmetic with rates goes through Decimal,
rounded once, half up, to whole öre."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from fordra.kernel.errors import DomainRuleViolation

ORE_PER_KRONA = 100

# The default upper bound of any one amount entering the platform, and of any invoice or file
# total: 10^13 öre = 100 000 000 000 kr, a hundred times Svenljunga's yearly budget, so no real
# invoice or payment comes near it, while the sum of some 900 000 amounts at the bound still fits
# the signed 64-bit integers every store and read model keeps öre in (2^63 - 1 is about 9.2 *
# 10^18). Above it an amount is a typing error or an attack, and once stored it would break every
# reader (issue 10: one such event stopped the read side). Each context keeps it as a dated setting.
DEFAULT_MAX_AMOUNT_ORE = 10**13


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


def check_amount_within_bound(amount_ore: int, max_ore: int, *, field: str) -> None:
    """Refuse an amount (of either sign) above ``max_ore``, naming the input at fault."""
    if abs(amount_ore) > max_ore:
        raise DomainRuleViolation(
            f"{abs(amount_ore)} öre is above the largest amount accepted, {max_ore} öre "
            f"({format_sek(max_ore)})",
            field=field,
            rule="amount_within_bound",
        )
