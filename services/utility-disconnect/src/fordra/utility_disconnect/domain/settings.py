"""The utility-disconnection context's settings: every number of its rules is dated (domain.md
preamble), never a literal in a rule.

The materiality assessment (domain.md §6, seed 003 lines 23-25):

- ``materiality_floor_ore``: the supervisory authority's floor, 1,000 kr: a single electricity
  claim must *exceed* it (seed 003 line 23: "bör i vart fall överstiga [1 000] kr"; the amount was
  lost in the seed's text, domain.md §6 restores it).
- ``annual_cost_share``: Svensk Energi's guidance on top of the floor (seed 003 line 25): a
  single claim above about 1/3 of the annual cost of that part for a flat or a house without
  electric heating, 1/4 for an electrically heated house. Kept as a fraction (numerator,
  denominator) so that the comparison is exact in öre.
- ``manual_invoice_count`` and ``material_invoice_count``: with 2 unpaid invoices the total must
  be weighed by a case officer ("kan man nog inte undvika att samtidigt titta på det totala
  beloppets storlek"); at least 3 is material whatever the amount ("torde väsentlighetskravet vara
  uppfyllt oavsett det totala beloppets storlek").
- ``close_together_days``: the unpaid invoices counted must have fallen due "relativt nära i
  tiden" (seed 003 line 25; line 23: "två i tiden nära förfallna fakturor"). Neither the seed nor
  the rulebook gives a number, so this is our choice: **92 days**, a quarter, measured from the
  earliest to the latest due date of the invoices counted. Why: the seed says the length of the
  billing period must be weighed ("Även debiteringsperiodens längd ... måste beaktas"); electricity
  is billed monthly (seed 001 bills "everything else as close to delivery as possible"), so three
  consecutive monthly invoices fall due within about 61 days and two within about 31; a quarter
  leaves room for one invoice paid in between or a due date moved to a working day, yet keeps out
  invoices scattered over a year, which the guidance does not mean by "close in time". A
  municipality billing electricity quarterly would lengthen it (a dated row).
"""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fordra.contracts.utility_disconnect import SupplyPointCategory
from fordra.kernel.dated import Dated
from fordra.utility_disconnect.domain.procedure_settings import ProcedureSettings

# A share of the annual cost as an exact fraction: (numerator, denominator).
Share = tuple[int, int]


def _always(value: int) -> Dated[int]:
    return Dated[int].always(value)


def _default_shares() -> Dated[dict[SupplyPointCategory, Share]]:
    """Svensk Energi's shares (seed 003 line 25): about a third of the annual cost for a flat or a
    house without electric heating, about a quarter for an electrically heated house."""
    return Dated[dict[SupplyPointCategory, Share]].always(
        {"apartment": (1, 3), "house": (1, 3), "house_electric_heating": (1, 4)}
    )


class DisconnectionSettings(BaseModel):
    """The settings of utility disconnection (nested in the app's ``Settings`` as
    ``utility_disconnect``). The module docstring says where each number comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A single electricity claim must exceed 1,000 kr (seed 003 line 23).
    materiality_floor_ore: Dated[int] = Field(default_factory=lambda: _always(100_000))
    # ... and exceed this share of the part's annual cost for the category (seed 003 line 25).
    annual_cost_share: Dated[dict[SupplyPointCategory, Share]] = Field(
        default_factory=_default_shares
    )
    # The window, in days from the earliest to the latest due date, in which unpaid invoices
    # count as having fallen due close together (our choice; the module docstring says why).
    close_together_days: Dated[int] = Field(default_factory=lambda: _always(92))
    # 2 close unpaid invoices: a case officer weighs the total ("manual").
    manual_invoice_count: Dated[int] = Field(default_factory=lambda: _always(2))
    # 3 close unpaid invoices: material whatever the amount.
    material_invoice_count: Dated[int] = Field(default_factory=lambda: _always(3))
    # The procedure's times, fees and costs (domain/procedure_settings.py).
    procedure: ProcedureSettings = Field(default_factory=ProcedureSettings)

    @model_validator(mode="after")
    def _shares_are_fractions_of_every_category(self) -> DisconnectionSettings:
        """Each row of the shares names every category with a fraction between 0 and 1, so
        that no assessment meets a missing category or a division by zero."""
        categories = set(get_args(SupplyPointCategory))
        for day, shares in self.annual_cost_share.rows:
            if set(shares) != categories:
                raise ValueError(
                    f"annual_cost_share from {day}: needs exactly the categories "
                    f"{sorted(categories)}"
                )
            for category, (num, den) in shares.items():
                if not 0 < num <= den:
                    raise ValueError(
                        f"annual_cost_share from {day}: {category} must be a fraction between 0 "
                        f"and 1, not {num}/{den}"
                    )
        for name in ("close_together_days", "manual_invoice_count", "material_invoice_count"):
            for day, value in getattr(self, name).rows:
                if value < 1:
                    raise ValueError(f"{name} from {day} must be at least 1, not {value}")
        return self
