"""Who sends the invoice: the municipality's own details that every invoice must carry.

Seed 001 ("Uppgifter fakturan bör innehålla") asks for the issuer's organisationsnummer, full name
and address, how to pay (bankgiro, postgiro/plusgiro, autogiro, a SWIFT address for payers
abroad), the F-tax statement and the late-interest terms; domain.md §2 "Invoice content" and "How
to pay". These are settings, not code: the lead puts an ``IssuerDetails`` in the invoicing
settings, and ``demo_issuer()`` is the demo's default.

The numbers are checked when the settings load, so a typo in a bankgiro number stops the service
instead of printing an account no payment can reach.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fordra.contracts.invoicing import PostalAddress
from fordra.kernel.ocr import luhn_check_digit

__all__ = [
    "DEFAULT_F_TAX_STATEMENT",
    "DEFAULT_LATE_INTEREST_TERMS",
    "SKATTEVERKET_FORWARDING_ADDRESS",
    "IssuerContact",
    "IssuerDetails",
    "demo_issuer",
]

# The wording Skatteverket's F-tax approval is stated with; the Swedish national PEPPOL rule
# SE-R-005 requires exactly this text in the e-invoice too.
DEFAULT_F_TAX_STATEMENT: Final[str] = "Godkänd för F-skatt"

# Räntelagen 6 § and seed 001 "Dröjsmålsränta debiteras från förfallodagen, med gällande
# referensränta plus åtta procent" (domain.md §3).
DEFAULT_LATE_INTEREST_TERMS: Final[str] = (
    "Dröjsmålsränta debiteras enligt räntelagen (referensränta + 8 procentenheter)"
)

# Letters to a person with a protected identity go through Skatteverket: the outer envelope to
# this address, the sealed inner one marked with the personnummer (domain.md §2).
SKATTEVERKET_FORWARDING_ADDRESS: Final[tuple[str, ...]] = (
    "Skatteverket",
    "Box 2820",
    "403 20 Göteborg",
)

_BIC: Final[re.Pattern[str]] = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_IBAN: Final[re.Pattern[str]] = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_SE_VAT: Final[re.Pattern[str]] = re.compile(r"SE[0-9]{10}01")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _luhn_valid(digits: str) -> bool:
    return len(digits) >= 2 and luhn_check_digit(digits[:-1]) == digits[-1]


def _iban_valid(compact: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, mod 97 == 1."""
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


class IssuerContact(BaseModel):
    """Where the customer turns with questions about the invoice ("Vår referens")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str = Field(min_length=1, description="The office that answers, e.g. the ledger team")
    phone: str = Field(min_length=1)
    email: str = Field(min_length=3)
    website: str | None = None


class IssuerDetails(BaseModel):
    """The issuer's details printed on every invoice and sent in every e-invoice (seed 001)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, description="Utställarens fullständiga namn")
    organisation_number: str = Field(description="Organisationsnummer, NNNNNN-NNNN")
    postal_address: PostalAddress
    bankgiro: str = Field(description="Bankgiro number as printed, e.g. 5050-1055")
    plusgiro: str | None = Field(default=None, description="Plusgiro number as printed, if any")
    iban: str = Field(description="For payers abroad (seed 001: 'swift-adress')")
    bic: str = Field(description="BIC/SWIFT code of the bank holding the IBAN")
    f_tax_statement: str = DEFAULT_F_TAX_STATEMENT
    vat_number: str = Field(description="Momsregistreringsnummer, SE + orgnr + 01")
    late_interest_terms: str = DEFAULT_LATE_INTEREST_TERMS
    # Seed 001: "Kunden skall ges möjlighet att betala med autogiro": every invoice offers it.
    autogiro_offer: str = (
        "Betala enklare med autogiro: kontakta oss så skickar vi en medgivandeblankett."
    )
    # VAT at 0 % on a municipal invoice is, in practice, a supply exempt from VAT (rent, care);
    # EN 16931 (BR-E-10) wants the reason stated, so the wording is a setting.
    vat_exemption_reason: str = "Undantagen från skatteplikt enligt mervärdesskattelagen"
    forwarding_address: tuple[str, ...] = SKATTEVERKET_FORWARDING_ADDRESS
    contact: IssuerContact

    @field_validator("organisation_number")
    @classmethod
    def _valid_organisation_number(cls, value: str) -> str:
        digits = _digits(value)
        # domain.md §2: 10 digits, Luhn check digit, third digit >= 2 for an organisation.
        if len(digits) != 10 or int(digits[2]) < 2 or not _luhn_valid(digits):
            raise ValueError(f"{value!r} is not a valid organisationsnummer")
        return f"{digits[:6]}-{digits[6:]}"

    @field_validator("bankgiro")
    @classmethod
    def _valid_bankgiro(cls, value: str) -> str:
        digits = _digits(value)
        # Bankgiro numbers are 7 or 8 digits with a Luhn check digit (also PEPPOL SE-R-009).
        if len(digits) not in (7, 8) or not _luhn_valid(digits):
            raise ValueError(f"{value!r} is not a valid bankgiro number")
        return value

    @field_validator("plusgiro")
    @classmethod
    def _valid_plusgiro(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = _digits(value)
        # Plusgiro numbers are 2-8 digits with a Luhn check digit (also PEPPOL SE-R-010).
        if not 2 <= len(digits) <= 8 or not _luhn_valid(digits):
            raise ValueError(f"{value!r} is not a valid plusgiro number")
        return value

    @field_validator("iban")
    @classmethod
    def _valid_iban(cls, value: str) -> str:
        compact = value.replace(" ", "").upper()
        if not _IBAN.fullmatch(compact) or not _iban_valid(compact):
            raise ValueError(f"{value!r} is not a valid IBAN")
        return compact

    @field_validator("bic")
    @classmethod
    def _valid_bic(cls, value: str) -> str:
        if not _BIC.fullmatch(value.upper()):
            raise ValueError(f"{value!r} is not a BIC (8 or 11 letters and digits)")
        return value.upper()

    @model_validator(mode="after")
    def _vat_number_matches_organisation(self) -> IssuerDetails:
        # A Swedish VAT number is "SE", the orgnr and "01" (PEPPOL SE-R-001/002 check the shape);
        # a mismatch is a settings typo that would make the e-invoice name another legal person.
        expected = f"SE{self.organisation_number_digits}01"
        if not _SE_VAT.fullmatch(self.vat_number) or self.vat_number != expected:
            raise ValueError(f"vat_number {self.vat_number!r} should be {expected!r}")
        return self

    @property
    def organisation_number_digits(self) -> str:
        return _digits(self.organisation_number)

    @property
    def bankgiro_digits(self) -> str:
        return _digits(self.bankgiro)

    @property
    def plusgiro_digits(self) -> str | None:
        return None if self.plusgiro is None else _digits(self.plusgiro)

    @property
    def iban_grouped(self) -> str:
        """The IBAN in groups of four, the way it is printed for people."""
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))


def demo_issuer() -> IssuerDetails:
    """Svenljunga kommun, whose seed 001 rules the demo follows.

    The name and organisationsnummer are Svenljunga's public ones. The street address, every
    payment number and the contact details are DEMO VALUES that reach no real account or person:
    5050-1055 is the bankgiro number Bankgirot's own documentation uses in its examples, the IBAN
    is the Swedish example of the SWIFT IBAN registry, and the plusgiro number is made up (with a
    valid check digit).
    """
    return IssuerDetails(
        name="Svenljunga kommun",
        organisation_number="212000-1561",
        postal_address=PostalAddress(  # demo value
            street="Torget 1", postal_code="512 80", city="Svenljunga"
        ),
        bankgiro="5050-1055",  # demo value
        plusgiro="12 34 56-6",  # demo value
        iban="SE45 5000 0000 0583 9825 7466",  # demo value (IBAN registry example)
        bic="ESSESESS",  # demo value, the bank the example IBAN belongs to
        vat_number="SE212000156101",
        contact=IssuerContact(
            unit="Ekonomienheten, kundreskontra",
            phone="0325-123 45",  # demo value
            email="kundreskontra@svenljunga.example",  # demo value (.example is reserved)
        ),
    )
