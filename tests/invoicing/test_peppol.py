"""The invoice as a PEPPOL BIS Billing 3.0 e-invoice, checked against the official rules: the
UBL 2.1 schema, the EN 16931 Schematron and OpenPEPPOL's Schematron with the Swedish national rules
(SE-R-*), all fetched from Maven Central by deploy/peppol/fetch-rules.sh.

The validator is proven on OpenPEPPOL's own files first: the BIS examples give no error, each test
of the Swedish unit test set (unit-UBL-SE) gives the outcome it states, and an invoice broken on
purpose fails on the rule that forbids the break. Rules that cannot be had fail these tests (never
a skip): CI must not go green without them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest
from lxml import etree
from saxonche import PySaxonProcessor, PyXsltExecutable

from fordra.contracts.invoicing import InvoiceIssued
from fordra.invoicing.adapters.peppol import CUSTOMIZATION_ID, render_peppol_ubl
from fordra.invoicing.domain.commands import InvoiceLineInput
from fordra.invoicing.domain.invoice_document import CustomerView
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.ocr import luhn_check_digit
from tests.fixtures_path import shared_fixtures
from tests.invoicing.test_render import (
    ISSUER,
    ORGANISATION,
    PERSON,
    PROTECTED,
    make_invoice,
)

FETCH_RULES: Final[Path] = (
    Path(__file__).resolve().parents[2] / "deploy" / "peppol" / "fetch-rules.sh"
)
SVRL: Final[str] = "{http://purl.oclc.org/dsdl/svrl}"
VEFA: Final[str] = "{http://difi.no/xsd/vefa/validator/1.0}"
NS: Final[dict[str, str]] = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
# Schematron flags that make a document invalid; "warning" does not.
BLOCKING: Final[frozenset[str]] = frozenset({"fatal", "error"})


# --- the validator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedAssert:
    rule: str
    flag: str
    text: str
    location: str


@dataclass(frozen=True)
class Report:
    schema_errors: tuple[str, ...]
    failed: tuple[FailedAssert, ...] = field(default=())

    @property
    def blocking(self) -> set[str]:
        """Rule ids failed with a fatal or error flag, plus "XSD" for a schema error."""
        rules = {f.rule for f in self.failed if f.flag in BLOCKING}
        return rules | ({"XSD"} if self.schema_errors else set())

    def flags_of(self, rule: str) -> set[str]:
        return {f.flag for f in self.failed if f.rule == rule}

    def explain(self) -> str:
        lines = [
            *self.schema_errors,
            *(f"{f.rule} [{f.flag}] {f.text} at {f.location}" for f in self.failed),
        ]
        return "\n".join(lines) or "valid"


class PeppolValidator:
    """UBL 2.1 XSD (lxml) + the EN 16931 and PEPPOL Schematron as XSLT 2.0 (Saxon-HE)."""

    def __init__(self, rules: Path) -> None:
        self.release = (rules / "RELEASE").read_text().strip()
        self._schemas = {
            kind: etree.XMLSchema(
                etree.parse(str(rules / "ubl21" / "maindoc" / f"UBL-{kind}-2.1.xsd"))
            )
            for kind in ("Invoice", "CreditNote")
        }
        # The processor must outlive the compiled stylesheets, so the validator holds it.
        self._saxon = PySaxonProcessor(license=False)
        compiler = self._saxon.new_xslt30_processor()
        self._stylesheets: list[PyXsltExecutable] = [
            compiler.compile_stylesheet(stylesheet_file=str(rules / name))
            for name in ("CEN-EN16931-UBL.xslt", "PEPPOL-EN16931-UBL.xslt")
        ]

    def validate(self, xml: bytes) -> Report:
        document = etree.fromstring(xml)
        schema = self._schemas[etree.QName(document).localname]
        schema_errors = () if schema.validate(document) else tuple(str(e) for e in schema.error_log)
        node = self._saxon.parse_xml(xml_text=xml.decode("utf-8"))
        failed: list[FailedAssert] = []
        for stylesheet in self._stylesheets:
            svrl = etree.fromstring(stylesheet.transform_to_string(xdm_node=node).encode("utf-8"))
            failed += [
                FailedAssert(
                    rule=element.get("id", "?"),
                    flag=element.get("flag", "?"),
                    text=" ".join((element.findtext(f"{SVRL}text") or "").split()),
                    location=element.get("location", ""),
                )
                for element in svrl.iter(f"{SVRL}failed-assert")
            ]
        return Report(schema_errors, tuple(failed))


@pytest.fixture(scope="session")
def peppol_rules() -> Path:
    """The official rule artefacts (a no-op once fetched; Maven Central the first time)."""
    env = os.environ.get("FORDRA_PEPPOL_RULES")
    try:
        done = subprocess.run(
            ["bash", str(FETCH_RULES)], capture_output=True, text=True, check=True, timeout=900
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.fail(
            f"deploy/peppol/fetch-rules.sh failed (FORDRA_PEPPOL_RULES={env}): {exc.stderr}"
        )
    return Path(done.stdout.strip())


@pytest.fixture(scope="session")
def validator(peppol_rules: Path) -> PeppolValidator:
    # Compiling the two stylesheets (about 1.1 MB of XSLT) is the slow part: once per session.
    return PeppolValidator(peppol_rules)


def ubl(invoice: InvoiceIssued | None = None, customer: CustomerView = ORGANISATION) -> bytes:
    return render_peppol_ubl(invoice or make_invoice(customer.customer_id), customer, ISSUER)


# --- the validator works: OpenPEPPOL's own files ----------------------------------------------

EXAMPLES = sorted(shared_fixtures("peppol", "examples").glob("*.xml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_openpeppol_examples_are_valid(validator: PeppolValidator, example: Path) -> None:
    report = validator.validate(example.read_bytes())
    assert report.blocking == set(), report.explain()


def test_the_norwegian_national_example_is_valid(validator: PeppolValidator) -> None:
    example = shared_fixtures("peppol", "national-examples", "Norwegian-example-1.xml")
    report = validator.validate(example.read_bytes())
    assert report.blocking == set(), report.explain()


def _unit_tests() -> list[tuple[str, int]]:
    cases = []
    for path in sorted(shared_fixtures("peppol", "unit-UBL-SE").glob("*.xml")):
        tests = etree.parse(str(path)).getroot().findall(f"{VEFA}test")
        cases += [(path.name, index) for index in range(len(tests))]
    return cases


@pytest.mark.parametrize(("file_name", "index"), _unit_tests(), ids=str)
def test_swedish_unit_tests_give_the_outcome_they_state(
    validator: PeppolValidator, file_name: str, index: int
) -> None:
    # Each <test> of OpenPEPPOL's unit-UBL-SE set wraps an invoice and says, per rule, whether it
    # must hold (success), fail as an error (error) or fail as a warning (warning).
    path = shared_fixtures("peppol", "unit-UBL-SE", file_name)
    test = etree.parse(str(path)).getroot().findall(f"{VEFA}test")[index]
    document = next(child for child in test if not str(child.tag).startswith(VEFA))
    report = validator.validate(etree.tostring(document))
    outcomes = test.find(f"{VEFA}assert")
    assert outcomes is not None
    assert len(outcomes) > 0
    for outcome in outcomes:
        kind, rule = etree.QName(outcome).localname, (outcome.text or "").strip()
        flags = report.flags_of(rule)
        if kind == "success":
            assert flags == set(), f"{rule} should hold:\n{report.explain()}"
        elif kind == "error":
            assert flags & BLOCKING, f"{rule} should fail as an error:\n{report.explain()}"
        else:
            assert "warning" in flags, f"{rule} should warn:\n{report.explain()}"


SFTI = sorted(shared_fixtures("peppol", "sfti-qap").glob("*.xml"))


def _with_valid_orgnrs(xml: bytes) -> bytes:
    """SFTI's files (2021) use made-up orgnrs; give each a valid Luhn check digit."""
    document = etree.fromstring(xml)
    for element in document.iter():
        if element.get("schemeID") == "0007" and element.text:
            digits = element.text.strip()
            element.text = digits[:-1] + luhn_check_digit(digits[:-1])
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("example", SFTI, ids=lambda p: p.name)
def test_swedish_sfti_files_fail_only_on_their_made_up_orgnrs(
    validator: PeppolValidator, example: Path
) -> None:
    # The SFTI test files predate the orgnr check digit rules (PEPPOL-COMMON-R049, SE-R-013)
    xml = example.read_bytes()
    assert validator.validate(xml).blocking == {"PEPPOL-COMMON-R049", "SE-R-013"}
    # and with valid orgnrs they are valid: the validator finds exactly what is wrong.
    report = validator.validate(_with_valid_orgnrs(xml))
    assert report.blocking == set(), report.explain()


# --- our e-invoice ---------------------------------------------------------------------------


def test_our_invoice_is_valid_without_even_a_warning(validator: PeppolValidator) -> None:
    # Given an invoice to an organisation, co-billed at 25, 12, 6 and 0 % with a discount line
    report = validator.validate(ubl())
    # Then the schema, EN 16931, PEPPOL and the Swedish rules have nothing to say
    assert report.schema_errors == ()
    assert report.failed == (), report.explain()


@pytest.mark.parametrize(
    "lines",
    [
        (InvoiceLineInput(description="Tömning", unit_price_ore=10_000, vat_rate=25),),
        (
            InvoiceLineInput(
                description="Hyra", unit_price_ore=812_345, vat_rate=0, service_type="premises_rent"
            ),
        ),
        (
            InvoiceLineInput(
                description="Timmar",
                quantity=Decimal("0.125"),
                unit_price_ore=33_333,
                vat_rate=12,
                service_type="other",
            ),
        ),
    ],
    ids=["one line at 25 %", "exempt only", "fractional quantity and rounding"],
)
def test_other_invoices_are_valid_too(
    validator: PeppolValidator, lines: tuple[InvoiceLineInput, ...]
) -> None:
    invoice = make_invoice(ORGANISATION.customer_id, *lines)
    report = validator.validate(ubl(invoice))
    assert report.schema_errors == (), report.explain()
    assert report.failed == (), report.explain()


def test_an_issuer_without_plusgiro_gives_a_valid_invoice(validator: PeppolValidator) -> None:
    issuer = ISSUER.model_copy(update={"plusgiro": None})
    xml = render_peppol_ubl(make_invoice(ORGANISATION.customer_id), ORGANISATION, issuer)
    assert validator.validate(xml).failed == ()
    assert b"SE:PLUSGIRO" not in xml


def test_the_e_invoice_carries_what_the_paper_invoice_does() -> None:
    invoice = make_invoice(ORGANISATION.customer_id)
    document = etree.fromstring(ubl(invoice))

    def texts(path: str) -> list[str]:
        return [str(v) for v in document.xpath(path, namespaces=NS)]

    assert texts("cbc:CustomizationID/text()") == [CUSTOMIZATION_ID]
    assert texts("cbc:ID/text()") == [invoice.invoice_number]
    assert texts("cbc:BuyerReference/text()") == ["Inköp 4711"]
    supplier = "cac:AccountingSupplierParty/cac:Party/"
    assert texts(supplier + "cbc:EndpointID[@schemeID='0007']/text()") == ["2120001561"]
    assert texts(supplier + "cac:PartyTaxScheme/cbc:CompanyID/text()") == [
        "SE212000156101",
        "Godkänd för F-skatt",
    ]
    assert texts("cac:PaymentMeans/cbc:PaymentID/text()") == [invoice.ocr] * 3
    assert texts("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID/text()") == [
        "50501055",
        "1234566",
        "SE4550000000058398257466",
    ]
    assert texts(
        "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID/text()"
    ) == [
        "SE:BANKGIRO",
        "SE:PLUSGIRO",
        "ESSESESS",
    ]
    assert (
        "Dröjsmålsränta debiteras enligt räntelagen" in texts("cac:PaymentTerms/cbc:Note/text()")[0]
    )
    assert texts("cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount/text()") == [
        "378.13",
        "156.00",
        "12.00",
        "0.00",
    ]
    assert texts("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID/text()") == [
        "S",
        "S",
        "S",
        "E",
    ]
    assert texts("cac:LegalMonetaryTotal/cbc:PayableAmount/text()") == ["7558.63"]
    # the discount line: a negative quantity at a positive price (BR-27)
    discount = document.xpath("cac:InvoiceLine[cbc:ID='3']", namespaces=NS)[0]
    assert discount.findtext("cbc:InvoicedQuantity", namespaces=NS) == "-1"
    assert discount.findtext("cac:Price/cbc:PriceAmount", namespaces=NS) == "50.00"
    assert discount.findtext("cbc:LineExtensionAmount", namespaces=NS) == "-50.00"
    # each line keeps its service (co-billing, seed 003)
    assert texts("cac:InvoiceLine/cac:Item/cac:AdditionalItemProperty/cbc:Value/text()") == [
        "Vatten och avlopp",
        "Vatten och avlopp",
        "Vatten och avlopp",
        "Vård och omsorg",
        "Musikskola",
        "Lokalhyra",
    ]


def test_a_buyer_with_its_own_peppol_id_gets_it_as_endpoint(validator: PeppolValidator) -> None:
    # Given an organisation registered with a GLN as PEPPOL id, paying by autogiro
    customer = ORGANISATION.model_copy(update={"peppol_id": "0088:7300010000001", "autogiro": True})
    xml = ubl(make_invoice(customer.customer_id), customer)
    document = etree.fromstring(xml)
    endpoint = document.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    # Then the e-invoice is addressed to that id, says it is paid by autogiro, and is valid
    assert endpoint is not None
    assert (endpoint.get("schemeID"), endpoint.text) == ("0088", "7300010000001")
    assert "Betalas via autogiro" in (
        document.findtext("cac:PaymentTerms/cbc:Note", namespaces=NS) or ""
    )
    report = validator.validate(xml)
    assert report.failed == (), report.explain()


@pytest.mark.parametrize("customer", [PERSON, PROTECTED], ids=["person", "protected identity"])
def test_no_e_invoice_goes_to_a_person(customer: CustomerView) -> None:
    with pytest.raises(DomainRuleViolation, match="only be sent to an organisation"):
        render_peppol_ubl(make_invoice(customer.customer_id), customer, ISSUER)


# --- broken on purpose: the rule that forbids the break fires ---------------------------------

Mutation = Callable[[etree._Element], None]


def _set(path: str, value: str) -> Mutation:
    def mutate(document: etree._Element) -> None:
        for element in document.xpath(path, namespaces=NS):
            element.text = value

    return mutate


def _remove(path: str) -> Mutation:
    def mutate(document: etree._Element) -> None:
        for element in document.xpath(path, namespaces=NS):
            element.getparent().remove(element)

    return mutate


def _move_due_date_after_note(document: etree._Element) -> None:
    due = document.find("cbc:DueDate", namespaces=NS)
    document.remove(due)
    document.find("cbc:Note", namespaces=NS).addnext(due)


SUPPLIER = "cac:AccountingSupplierParty/cac:Party"


@pytest.mark.parametrize(
    ("mutation", "rule", "flag"),
    [
        (
            _set(
                f"{SUPPLIER}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='TAX']/cbc:CompanyID",
                "F-skatt",
            ),
            "SE-R-005",
            "fatal",
        ),
        (
            _set(
                f"{SUPPLIER}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
                "SE21200015610",
            ),
            "SE-R-001",
            "fatal",
        ),
        (_set(f"{SUPPLIER}/cac:PartyLegalEntity/cbc:CompanyID", "2120001562"), "SE-R-013", "fatal"),
        (
            _set("//cac:TaxCategory[cbc:ID='S'][cbc:Percent='12']/cbc:Percent", "20"),
            "SE-R-006",
            "fatal",
        ),
        (
            _set("//cac:FinancialInstitutionBranch[cbc:ID='SE:BANKGIRO']/../cbc:ID", "5050-1055"),
            "SE-R-008",
            "warning",
        ),
        (_set("cac:LegalMonetaryTotal/cbc:PayableAmount", "7558.64"), "BR-CO-16", "fatal"),
        (_set("cac:TaxTotal/cbc:TaxAmount", "546.14"), "BR-CO-14", "fatal"),
        (_remove("cbc:BuyerReference"), "PEPPOL-EN16931-R003", "fatal"),
        (
            _remove("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason"),
            "BR-E-10",
            "fatal",
        ),
        (_move_due_date_after_note, "XSD", "schema"),
    ],
    ids=[
        "no F-skatt text",
        "VAT number too short",
        "orgnr check digit",
        "VAT rate 20 %",
        "bankgiro with a hyphen",
        "payable amount off by one öre",
        "VAT total off by one öre",
        "no buyer reference",
        "no exemption reason",
        "elements out of order",
    ],
)
def test_a_broken_invoice_fails_on_the_rule_it_breaks(
    validator: PeppolValidator, mutation: Mutation, rule: str, flag: str
) -> None:
    # Given our valid invoice, broken in one place
    document = etree.fromstring(ubl())
    mutation(document)

    # When it is validated
    report = validator.validate(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))

    # Then the rule that forbids the break fires, with its flag
    if flag == "schema":
        assert report.schema_errors, report.explain()
    else:
        assert flag in report.flags_of(rule), report.explain()


def test_the_rules_are_the_release_the_fetch_script_names(validator: PeppolValidator) -> None:
    script = FETCH_RULES.read_text()
    assert f"bis_release={validator.release}\n" in script
