"""How the pages show the API's figures in Swedish: kronor from öre, and the words for the
states the API names in English. Presentation only: every amount comes as the API answers it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from fordra.kernel.clock import STOCKHOLM

# Narrow no-break space between thousands, as Swedish typography groups digits (Språkrådet).
THIN_SPACE = "\u202f"


def kronor(ore: int | None) -> str:
    """1234550 -> '12 345,50 kr'; negative amounts with a real minus sign."""
    if ore is None:
        return "–"
    sign = "\u2212" if ore < 0 else ""
    whole, cents = divmod(abs(ore), 100)
    grouped = f"{whole:,}".replace(",", THIN_SPACE)
    return f"{sign}{grouped},{cents:02d}{THIN_SPACE}kr"


def local_time(value: datetime) -> str:
    """A moment as the office's clock shows it (Swedish time); a naive one is UTC."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def day(value: date | None) -> str:
    return value.isoformat() if value is not None else "–"


LABELS: dict[str, str] = {
    # Invoice status on the ledger (projections.domain.ledger_status)
    "open": "Öppen",
    "overdue": "Förfallen",
    "deferred": "Anstånd",
    "disputed": "Bestridd",
    "paid": "Betald",
    "credited": "Krediterad",
    "cancelled": "Makulerad",
    "written_down": "Nedskriven",
    "written_off": "Avskriven",
    # Dunning stage (dunning.domain.claim.Stage)
    "reminded": "Påmind",
    "handed_over": "Hos inkasso",
    "in_plan": "Avbetalningsplan",
    # Holds that stop the dunning flow (dunning.domain.claim.HoldKind)
    "postponement": "Uppskov",
    "dispute": "Bestridande",
    "payment_plan": "Avbetalningsplan",
    # Proposal kinds (dunning.domain.events.ProposalKind)
    "reminder": "Påminnelse",
    "handover": "Överlämning till inkasso",
    "termination_warning": "Varning om uppsägning",
    "installment_reminder": "Påminnelse om delbetalning",
    # Agency case status (contracts.agency_gateway.AgencyCaseStatus)
    "queued": "Köad",
    "delivered": "Levererad",
    "opened": "Ärende öppnat",
    "payment_order_filed": "Betalningsföreläggande ansökt",
    "objection": "Bestridande",
    "judgment": "Dom",
    "enforcement": "Verkställighet",
    "long_term_surveillance": "Långtidsbevakning",
    "closed": "Avslutat",
    "recalled": "Återkallat",
    # Agency tasks (agency_gateway.application.cases.AgencyTask.kind)
    "court_decision": "Beslut om tingsrätt efter bestridande",
    "reinstatement_window": "Frist för återvinning",
    # Payment plans (dunning.domain.payment_plan.PlanStatus)
    "awaiting_signature": "Väntar på underskrift",
    "active": "Aktiv",
    "completed": "Fullgjord",
    # Customer kinds
    "person": "Person",
    "organisation": "Organisation",
    # Services and departments
    "water": "Vatten och avlopp",
    "waste": "Renhållning",
    "childcare": "Barnomsorg",
    "elderly_care": "Vård och omsorg",
    "housing_rent": "Bostadshyra",
    "premises_rent": "Lokalhyra",
    "music_school": "Kulturskola",
    "hall_rental": "Lokaluthyrning",
    "electricity": "El",
    "other": "Övrigt",
}


# The case register's kinds (projections.domain.service_levels.CaseKind; seed 002's table).
CASE_KINDS: dict[str, str] = {
    "refund": "Återbetalning till kund",
    "deferral": "Anstånd",
    "payment_plan": "Avbetalningsplan",
    "cancellation_credit": "Makulering/kreditering",
    "agency_inbox": "Inkassoinkorg",
    "import_error_list": "Fellistor från importer",
    "payment_proposal": "Betalningsförslag, kommande återbetalningar",
    "kronofogden": "Ärenden från Kronofogden",
    "e_invoice_error": "E-fakturor som inte kunde skickas",
    "agency_payment": "Inbetalningar från inkasso",
    "autogiro_mandate": "Autogiromedgivanden",
    "department_question": "Frågor från förvaltningar",
    "weekly_control": "Veckokontroller",
    "reconciliation": "Kontoavstämning",
    "advance_reversal": "Återföring av förskott",
    "period_close": "Periodbokslut",
    "childcare_manual_form": "Barnomsorg, manuella blanketter",
    "childcare_message": "Barnomsorg, meddelanden",
}


# Where a disconnection case stands (contracts.utility_disconnect.DisconnectionCaseStatus).
DISCONNECTION: dict[str, str] = {
    "open": "Ärende öppnat",
    "lettered": "Brev skickat",
    "noticed": "Underrättelse skickad",
    "ordered": "Avbrott beställt",
    "disconnected": "Avstängd",
    "reconnected": "Återinkopplad",
    "stopped": "Stoppat",
}


def disconnection(value: str | None) -> str:
    return "–" if value is None else DISCONNECTION.get(value, value)


def case_kind(value: str) -> str:
    return CASE_KINDS.get(value, value)


def percent(value: float | None) -> str:
    """8.0 -> '8,0 %'; None (nothing to divide by) -> '–'."""
    return "–" if value is None else f"{value:.1f}".replace(".", ",") + "\u00a0%"


def label(value: str | None) -> str:
    """The Swedish word for a state; an unknown one is shown as the API names it."""
    if value is None:
        return "–"
    return LABELS.get(value, value)


# The payment queue's reasons and suggestions as payments and projections word them
# (payments.domain.matching.why_not_matched_automatically, projections' unmatched_payments), in
# Swedish; a wording not listed here is shown as the API gives it.
_EXPLANATIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"^{pattern}$"), swedish)
    for pattern, swedish in (
        (r"no OCR reference", "ingen OCR-referens"),
        (r"the reference is not a valid OCR number", "referensen är inget giltigt OCR-nummer"),
        (r"paid in (\S+): never booked as (\S+)", r"betald i \1: bokas aldrig som \2"),
        (r"a (\S+) is handled by hand", r"en post av typen \1 hanteras för hand"),
        (
            r"BgMax reference code (\S+) is not a checked OCR",
            r"BgMax-referenskod \1 är inget kontrollerat OCR-nummer",
        ),
        (r"its number is in the payment's text", "fakturans nummer står i betalningens text"),
        (r"the same amount is open on it", "samma belopp är öppet på fakturan"),
    )
)


def explained(text: str | None) -> str:
    """A reason or suggestion of the payment queue in Swedish, when its wording is known."""
    if text is None:
        return "–"
    for pattern, swedish in _EXPLANATIONS:
        if pattern.match(text):
            return pattern.sub(swedish, text)
    return text
