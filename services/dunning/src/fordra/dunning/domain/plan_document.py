"""The written payment plan (domain.md §4 "Installment plan"): its content as a pure model that
the letters' renderer turns into a Swedish letter of kind ``payment_plan``.

Every item seed 001 lists ("Borgenärens namn, Vad fordran avser, Kapitalbelopp, Dröjsmålsränta,
framräknad till sista delbetalning, Räntesats, Eventuella kostnadsersättningar, Belopp per
delbetalning, Antal delbetalningstillfällen, Tidpunkt för delbetalning") and what seed 003 §5.3
adds (the total debt up to the last payment and every condition of the arrangement).

No plan may say that a missed installment is a material breach (for electricity), nor that
accepting it fulfils the request, notice or service steps of ellagen (seed 003 §7): both are
named rules run on every text the document carries, and drawing up the document fails when a
template or a condition says either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict

from fordra.contracts.dunning import Installment
from fordra.dunning.domain.payment_plan import PaymentPlan, PlanClaim
from fordra.kernel.errors import DomainRuleViolation


class Creditor(BaseModel):
    """The creditor the plan names (borgenären): the municipality, and how to pay it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    orgnr: str
    address_lines: tuple[str, ...]
    bankgiro: str | None = None
    plusgiro: str | None = None
    phone: str | None = None


class PlanCost(BaseModel):
    """One cost of the plan, specified (seed 003 §5.3: "specifikation av kostnadsersättning")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str  # Swedish, as the letter says it
    amount_ore: int


class PlanDocument(BaseModel):
    """What the written plan states (the letter's content, Swedish texts, amounts in öre)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_id: str
    customer_id: str
    drawn_up_on: date
    written: bool
    title: str
    creditor: Creditor
    claims: tuple[PlanClaim, ...]  # what each claim is for, its number and open capital
    capital_ore: int
    interest_ore: int  # late interest computed to the last installment
    rate_percent: str  # e.g. "10.00"
    rate_basis: str  # how the rate is set, in words
    costs: tuple[PlanCost, ...]
    costs_ore: int
    installments: tuple[Installment, ...]  # amount per installment and its date
    installment_count: int
    last_due_date: date
    total_ore: int  # the total debt up to the last payment
    conditions: tuple[str, ...]
    # What the debtor does: sign and return it (seed 000 §9).
    signature_text: str


TITLE = "Avbetalningsplan"
RATE_BASIS = (
    "Dröjsmålsränta enligt räntelagen (6 §): Riksbankens referensränta för varje kalenderhalvår "
    "plus åtta procentenheter."
)
WRITTEN_PLAN_FEE_LABEL = "Avgift för skriftlig avbetalningsplan"
SIGNATURE_TEXT = (
    "Planen gäller när du har skrivit under den och skickat tillbaka den till oss. Behåll en kopia."
)

# The plan's conditions (seed 003 §5.3: "Alla eventuella villkor ... bör också framgå").
# A municipality may give its own (a setting of the app); each is checked like these.
DEFAULT_CONDITIONS: tuple[str, ...] = (
    "Delbetalningarna betalas till fakturornas bankgiro med fakturans OCR-nummer, senast på "
    "respektive förfallodag.",
    "Varje delbetalning räknas av mot fakturornas kapitalbelopp, äldsta fakturan först.",
    "Avgiften för planen debiteras på din nästa faktura efter att du har skrivit under planen.",
    "Dröjsmålsränta löper under hela planen. Räntan debiteras på din nästa faktura när "
    "kapitalbeloppet är betalt.",
    "Om en delbetalning inte betalas i tid får du en påminnelse. Betalas den inte efter "
    "påminnelsen avbryts planen och hela det obetalda beloppet förfaller till betalning.",
    "Du kan när som helst betala mer än delbetalningen eller hela skulden utan extra kostnad.",
)

_MATERIAL_BREACH = re.compile(
    r"väsentlig\w*\s+(avtals)?brott|avtalsbrott\w*\s+\w*\s*väsentlig|material\s+breach",
    re.IGNORECASE,
)
_NOTICE_STEP = re.compile(
    r"uppmaning|uppmana|underrätt|delgiv|delgett|meddelande\s+om\s+(frånkoppling|avstängning)"
    r"|notice|serv(ice|ed)",
    re.IGNORECASE,
)
_FULFILS = re.compile(
    r"fullgj|fullgör|uppfyll|ersätter|utgör|gäller\s+som|likställ|fulfil|satisf|counts?\s+as",
    re.IGNORECASE,
)
_ELLAGEN = re.compile(r"ellag|11\s*kap|electricity\s+act", re.IGNORECASE)


def check_no_material_breach_clause(text: str) -> None:
    """seed 003 §7: a plan may not say that a missed installment (or an unpaid ordinary invoice)
    is a material breach (väsentligt avtalsbrott) that allows disconnection: such a term is to
    the consumer's disadvantage against ellagen 11 kap. 2 § and void."""
    if _MATERIAL_BREACH.search(text):
        raise DomainRuleViolation(
            f"a payment plan may not call a missed payment a material breach (seed 003 §7): "
            f"{text!r}",
            field="conditions",
            rule="check_no_material_breach_clause",
        )


def check_no_notice_duty_clause(text: str) -> None:
    """seed 003 §7: a plan may not say that accepting it fulfils the request, notice or service
    steps (uppmaning, underrättelse, delgivning) ellagen requires before a disconnection."""
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        # A sentence that speaks of a notice step or of ellagen *and* of fulfilling it; a
        # sentence that only mentions ellagen's steps (that they still apply) passes.
        if (_NOTICE_STEP.search(sentence) or _ELLAGEN.search(sentence)) and _FULFILS.search(
            sentence
        ):
            raise DomainRuleViolation(
                "a payment plan may not say that accepting it fulfils a request, notice or "
                f"service step of ellagen (seed 003 §7): {sentence!r}",
                field="conditions",
                rule="check_no_notice_duty_clause",
            )


def check_plan_text(text: str) -> None:
    """Both rules of seed 003 §7 on one text of the plan."""
    check_no_material_breach_clause(text)
    check_no_notice_duty_clause(text)


def build_plan_document(
    plan: PaymentPlan,
    creditor: Creditor,
    conditions: Sequence[str] = DEFAULT_CONDITIONS,
) -> PlanDocument:
    """The written plan's content; refused (``DomainRuleViolation``) if any text it would carry,
    the fixed ones included, says what seed 003 §7 forbids."""
    texts = (TITLE, RATE_BASIS, WRITTEN_PLAN_FEE_LABEL, SIGNATURE_TEXT, *conditions)
    for text in texts:
        check_plan_text(text)
    proposed = plan.proposed
    fee = plan.drawn_up.fee_ore
    costs = (PlanCost(label=WRITTEN_PLAN_FEE_LABEL, amount_ore=fee),) if fee else ()
    return PlanDocument(
        plan_id=plan.plan_id,
        customer_id=plan.customer_id,
        drawn_up_on=proposed.proposed_on,
        written=proposed.written,
        title=TITLE,
        creditor=creditor,
        claims=plan.drawn_up.claims,
        capital_ore=proposed.capital_ore,
        interest_ore=proposed.interest_ore,
        rate_percent=proposed.rate_percent,
        rate_basis=RATE_BASIS,
        costs=costs,
        costs_ore=proposed.costs_ore,
        installments=proposed.installments,
        installment_count=len(proposed.installments),
        last_due_date=max(i.due_date for i in proposed.installments),
        total_ore=proposed.total_ore,
        conditions=tuple(conditions),
        signature_text=SIGNATURE_TEXT,
    )
