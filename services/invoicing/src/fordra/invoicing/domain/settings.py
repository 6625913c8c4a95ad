"""Invoicing's settings: every number is dated (domain.md preamble)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.invoicing import ServiceType
from fordra.invoicing.domain.issuer import IssuerDetails, demo_issuer
from fordra.invoicing.domain.recurring_charge import RecurringSettings
from fordra.kernel.dated import Dated
from fordra.kernel.money import DEFAULT_MAX_AMOUNT_ORE

# What happens to an invoice under the minimum (seed 001 line 3, domain.md §2): held and added to
# the customer's next invoice (default), accumulated until worth invoicing, or dropped.
SmallAmountPolicy = Literal["hold_for_next_invoice", "accumulate", "drop"]


def default_vat_rates_by_service() -> dict[ServiceType, Dated[tuple[int, ...]]]:
    """The rates each service may carry (external: mervärdesskattelagen 2023:200, to verify with
    the municipality's VAT advisers, hence a setting). Water, waste and electricity are taxed at
    25 %. Childcare is social care, exempt (0 %), and so is the lease of a home. Elderly care is
    exempt too, but may sell meals (12 %, or 6 % for food as goods); a music school is exempt
    education but may sell books (6 %) or rent out instruments (25 %). Premises and halls are
    exempt unless the municipality opted into tax (frivillig skattskyldighet): 0 or 25 %, and a
    hall let for sport 6 %. Food is 12 %, 6 % from 2026-04-01 to 2027-12-31 (domain.md §2), then
    12 % again. "other" is not listed: any rate in force."""
    always = Dated[tuple[int, ...]].always
    return {
        "water": always((25,)),
        "waste": always((25,)),
        "electricity_grid": always((25,)),
        "electricity_supply": always((25,)),
        "childcare": always((0,)),
        "elderly_care": always((0, 12, 6)),
        "music_school": always((0, 6, 25)),
        "housing_rent": always((0,)),
        "premises_rent": always((25, 0)),
        "hall_rental": always((25, 6, 0)),
        "food": Dated[tuple[int, ...]].table(
            ("1900-01-01", (12,)), ("2026-04-01", (6,)), ("2028-01-01", (12,))
        ),
    }


class RentDelegationSettings(BaseModel):
    """What the shared service office may grant on its own for a rent (domain.md §8
    "Delegation", seed 002: "ge anstånd på hyra en månad", "ge anstånd på första månadshyran i
    högst två månader vid dubbla boendekostnader"); beyond it a department decision is needed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A rent deferral: at most this many months past the due date.
    deferral_months: Dated[int] = Field(default_factory=lambda: Dated[int].always(1))
    # The first month's rent of a tenancy (double housing costs): at most this many months.
    first_rent_deferral_months: Dated[int] = Field(default_factory=lambda: Dated[int].always(2))


class InvoicingSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # "Räntedebitering sker 30 dagar från fakturadatum" (seed 001): 30-day terms.
    payment_terms_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(30))
    # A due date on a weekend or holiday moves to the next working day (bank practice: a payment
    # cannot be booked on a day the banks are closed).
    due_date_moves_to_working_day: bool = True
    # An invoice may be dated at most this many days before the business date: one dated further
    # back leaves the customer little or none of the payment terms (overdue at birth). Our
    # choice, since seed 001 only says to invoice "så nära anslutning till utförd prestation som
    # möjligt": a fortnight covers a departmental run that waited over a weekend or holiday and
    # still leaves 16 of the 30 days' terms.
    max_backdating_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(14))
    # And at most this many days after it: the payment terms and late interest run from the
    # invoice date, so a date far ahead would postpone both at will (and 9999-12-31 left no room
    # for a due date at all). Our choice: a month covers a run prepared before the month it bills.
    max_forward_dating_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(31))
    # VAT rates valid by date (domain.md §2): 25/12/6/0; food moves from 12 to 6 on 2026-04-01,
    # which leaves the set of rates unchanged.
    vat_rates: Dated[tuple[int, ...]] = Field(
        default_factory=lambda: Dated[tuple[int, ...]].always((25, 12, 6, 0))
    )
    # Which of those rates each service may carry, by date (domain.md §2 "VAT rates 25/12/6/0 are
    # date-effective"; the rates per kind of supply are mervärdesskattelagen's, external): a
    # service missing here may carry any rate in force. See default_vat_rates_by_service.
    vat_rates_by_service: dict[ServiceType, Dated[tuple[int, ...]]] = Field(
        default_factory=default_vat_rates_by_service
    )
    # The municipality's bankgiro agreement decides whether OCR numbers carry a length digit.
    ocr_length_digit: bool = True
    # How many invoice numbers a process reserves at once on the tenant's counter (domain/
    # numbering.py, docs/adr/0004-invoice-numbering.md): one append per block instead of one per
    # invoice, so concurrent invoices never race on the counter. The numbers of a block left
    # unused when the process stops are a gap, so a small block keeps gaps small; 100 makes one
    # counter append per 100 invoices.
    invoice_number_block_size: Dated[int] = Field(default_factory=lambda: Dated[int].always(100))
    # The largest unit price, line amount and invoice total (net, VAT, total) accepted, of either
    # sign: see fordra.kernel.money.DEFAULT_MAX_AMOUNT_ORE for why 10^13 öre.
    max_amount_ore: Dated[int] = Field(
        default_factory=lambda: Dated[int].always(DEFAULT_MAX_AMOUNT_ORE)
    )
    # The largest quantity of one line: 100 million units. The largest real quantities are an
    # industry's electricity (a few GWh a year, 10^6-10^7 kWh) and water (10^5 m3); beyond this a
    # quantity is a typing error. The amount bound above is what keeps öre inside 64 bits.
    max_quantity: Dated[Decimal] = Field(
        default_factory=lambda: Dated[Decimal].always(Decimal(100_000_000))
    )
    # An invoice total under this is not invoiced on its own (seed 001 line 3; issue: invoicing).
    minimum_invoice_ore: Dated[int] = Field(default_factory=lambda: Dated[int].always(5000))
    small_amount_policy: dict[str, SmallAmountPolicy] = Field(default_factory=dict)
    small_amount_default_policy: SmallAmountPolicy = "hold_for_next_invoice"
    # Deferral (anstånd, seed 001): "Anstånd bör inte lämnas för mer än tre månader".
    deferral_max_months: Dated[int] = Field(default_factory=lambda: Dated[int].always(3))
    # "Räntedebitering sker 30 dagar från fakturadatum" in the deferral paragraph of seed 001:
    # a granted deferral does not stop late interest, which runs from invoice date + this.
    deferral_interest_from_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(30))
    # Postponement (uppskov, seed 001) moves the due date of an unclear invoice; the seed names
    # no bound, so ours is a setting: at most this many days after the invoice's first due date
    # (the deferral's "normally at most 3 months", in days).
    postponement_max_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(90))
    # A departmental system's own OCR numbers must carry a length digit when the bankgiro
    # agreement says so (Bankgirot's "OCR-kontroll: checksiffra och längdsiffra").
    ocr_length_digit_required: bool = True

    # "Musikavgifter terminsvis i förskott" (seed 001): an invoice bills the term running this
    # many months after its month, so a December invoice covers the coming spring term.
    music_school_term_months_ahead: Dated[int] = Field(default_factory=lambda: Dated[int].always(1))
    # Whose billing periods may not overlap from one invoice to the next (seed 001: VA &
    # renhållning, billed in arrears most of the year but at the start of the period in summer).
    non_overlapping_period_services: tuple[ServiceType, ...] = ("water", "waste")
    # "För vatten och renhållning är fastighetsägaren alltid betalningsansvarig" (seed 001): an
    # invoice for these needs the customer's recorded ownership on the invoice date.
    owner_liable_services: tuple[ServiceType, ...] = ("water", "waste")
    # Which department tokens may record a property's owner: the departments that bill the
    # owner-liable services (VA and renhållning) keep ownership from the land register (lagfart),
    # for any customer, since a new owner is often already a customer of another department. No
    # other department may: a false ownership makes a person liable for water and waste. Case
    # officers and admins always may. A municipality names its own department tokens here.
    property_register_departments: tuple[str, ...] = ("va", "water", "waste", "avfall")
    # Premises rent is billed monthly or quarterly in advance (seed 001): the municipality's choice.
    premises_rent_period: Literal["month", "quarter"] = "month"
    # The rent administration's delegation (seed 002): the deferrals it grants without a
    # department decision.
    rent_delegation: RentDelegationSettings = Field(default_factory=RentDelegationSettings)
    # Who issues the invoices: name, orgnr, bankgiro, F-tax... (seed 001's mandatory items).
    issuer: IssuerDetails = Field(default_factory=demo_issuer)
    # Recurring charges' billing calendar (issue 14; domain/recurring_charge.py).
    recurring: RecurringSettings = Field(default_factory=RecurringSettings)

    def small_amount_policy_for(self, service_type: str) -> SmallAmountPolicy:
        return self.small_amount_policy.get(service_type, self.small_amount_default_policy)
