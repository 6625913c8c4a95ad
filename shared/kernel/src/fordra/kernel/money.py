"""Money is integer öre (domain.md: "Money is integer öre"). Never a float, never a Decimal in an
event: amounts cross every boundary as ``int`` and only arithmetic with rates goes through Decimal,
rounded once, half up, to whole öre."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field

from fordra.kernel.errors import DomainRuleViolation

ORE_PER_KRONA = 100

# The default upper bound of any one amount entering the platform, and of any invoice or file
# total: 10^13 öre = 100 000 000 000 kr, a hundred times Svenljunga's yearly budget, so no real
# invoice or payment comes near it, while the sum of some 900 000 amounts at the bound still fits
# the signed 64-bit integers every store and read model keeps öre in (2^63 - 1 is about 9.2 *
# 10^18). Above it an amount is a typing error or an attack, and once stored it would break every
# reader (issue 10: one such event stopped the read side). Each context keeps it as a dated setting.
DEFAULT_MAX_AMOUNT_ORE = 10**13

# The widest integer every store and read model holds: SQLite's INTEGER and PostgreSQL's BIGINT
# are signed 64-bit. An amount outside it cannot be stored or summed by a projection, so it is
# refused where it comes in. This is a representation limit, not a business rule: the business
# upper bound on an amount (far lower) is a dated setting of its own.
STORABLE_MIN = -(2**63)
STORABLE_MAX = 2**63 - 1


def _not_a_boolean(value: object) -> object:
    # pydantic reads JSON true as the int 1: a price of "true" was booked as 1 öre
    if isinstance(value, bool):
        raise ValueError("an amount in öre is a number, not true or false")
    return value


# An amount in öre as a request carries it: an int that fits the stores, named in the 422 if not.
Ore = Annotated[int, BeforeValidator(_not_a_boolean), Field(ge=STORABLE_MIN, le=STORABLE_MAX)]


def check_storable_ore(amount_ore: int, *, field: str) -> int:
    """An amount computed from inputs that each fit (a quantity times a price, a sum of lines)
    may still not: refused naming the input it came from, before anything is appended."""
    if not STORABLE_MIN <= amount_ore <= STORABLE_MAX:
        raise DomainRuleViolation(
            f"{amount_ore} öre is outside what can be stored (a signed 64-bit integer)",
            field=field,
            rule="amount_storable",
        )
    return amount_ore


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
