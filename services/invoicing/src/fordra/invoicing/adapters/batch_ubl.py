"""Invoice batches as PEPPOL BIS Billing 3.0 UBL (``application/xml``): one UBL ``Invoice`` per
request, mapped to the command a single invoice is, its totals checked against Fordra's own
computation. The mapping element by element, what is refused and why, is in
docs/invoice-batch-format.md; the rules every batch must satisfy are
``fordra.invoicing.domain.batch``'s.

The XML is read safely: UTF-8 only, a DOCTYPE or entity declaration refused before a parser sees
it, and a parser that neither loads DTDs, resolves entities nor touches the network. Errors name the
element as a path (``Invoice/cac:InvoiceLine[2]/cbc:InvoicedQuantity``) and its line where known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from lxml import etree

from fordra.contracts.invoicing import InvoiceLine, ServiceType
from fordra.invoicing.adapters.batch_utf8 import decode_utf8
from fordra.invoicing.domain.batch import (
    UNRESOLVED_CUSTOMER_ID,
    BatchDraft,
    BatchProblems,
    Place,
    reject_batch,
    validate_command,
)
from fordra.invoicing.domain.commands import IssueInvoice
from fordra.invoicing.domain.vat import vat_per_rate
from fordra.kernel.identity import InvalidIdentityNumber, parse_identity_number
from fordra.kernel.money import ORE_PER_KRONA, round_ore

__all__ = ["parse_ubl"]

_NS: Final[dict[str, str]] = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_INVOICE_TAG: Final[str] = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
_CREDIT_NOTE_TAG: Final[str] = (
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"
)
_INVOICE_TYPE_CODES: Final[dict[str, str]] = {
    "380": "commercial invoice",
    "82": "metered services invoice",
    "326": "partial invoice",
}
# VAT categories (UNCL 5305) whose legal statements a Fordra invoice can carry: standard, zero
# rated, exempt, outside the scope of VAT.
_VAT_CATEGORIES: Final[frozenset[str]] = frozenset({"S", "Z", "E", "O"})
_BUYER: Final[str] = "cac:AccountingCustomerParty/cac:Party"
# ISO 6523 ICD 0007: the Swedish organisationsnummer.
_SWEDISH_ORGNR_SCHEME: Final[str] = "0007"
_DANGEROUS_XML: Final[re.Pattern[str]] = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECLARED_ENCODING: Final[re.Pattern[bytes]] = re.compile(
    rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']"""
)


@dataclass
class _UblLine:
    """One Fordra line made from the document, with where each of its values came from."""

    raw: dict[str, Any]
    places: dict[str, Place]
    # The cac:InvoiceLine it belongs to (None for a document-level allowance or charge).
    invoice_line: int | None
    allowance: Literal["allowance", "charge"] | None = None

    def place(self, attr: str) -> Place:
        return self.places.get(attr) or self.places["description"]


class _Ubl:
    """Reads one UBL Invoice, reporting every problem with the element's path and line."""

    def __init__(self, root: etree._Element, problems: BatchProblems) -> None:
        self.root = root
        self.problems = problems

    # -- small readers ----------------------------------------------------------------------

    def find(self, parent: etree._Element, path: str) -> etree._Element | None:
        return parent.find(path, _NS)

    def text(self, element: etree._Element | None) -> str | None:
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    def place(self, element: etree._Element | None, path: str) -> Place:
        return Place(None if element is None else element.sourceline, path)

    def error(self, element: etree._Element | None, path: str, message: str) -> None:
        self.problems.add(None if element is None else element.sourceline, path, message)

    def required_text(self, parent: etree._Element, relative: str, base: str) -> str | None:
        """A mandatory BIS element's text; its absence is said here, in the sender's terms."""
        text = self.text(self.find(parent, relative))
        if text is None:
            self.error(parent, f"{base}/{relative}", "missing: this element is required")
        return text

    def decimal(self, element: etree._Element | None, path: str) -> Decimal | None:
        text = self.text(element)
        if text is None:
            self.error(element, path, "missing: a number is required here")
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            self.error(element, path, f"{text!r} is not a number")
            return None
        return value

    def amount_ore(
        self, parent: etree._Element, relative: str, base: str, *, required: bool = True
    ) -> int | None:
        """An amount in SEK as öre, exactly: a fraction of an öre is refused, never rounded."""
        element = self.find(parent, relative)
        path = f"{base}/{relative}"
        if element is None:
            if required:
                self.error(parent, path, "missing")
            return None
        currency = element.get("currencyID")
        if currency is not None and currency.strip() != "SEK":
            self.error(element, path, f"amount in {currency}: Fordra invoices in SEK only")
            return None
        value = self.decimal(element, path)
        if value is None:
            return None
        ore = value * ORE_PER_KRONA
        if ore != ore.to_integral_value():
            self.error(element, path, f"{value} SEK is not a whole number of öre")
            return None
        return int(ore)

    # -- the document -----------------------------------------------------------------------

    def read(
        self, department: str | None, service_type: ServiceType | None, max_lines: int
    ) -> BatchDraft | None:
        root = self.root
        root_line = root.sourceline or 1
        if root.tag == _CREDIT_NOTE_TAG:
            self.problems.add(
                root_line,
                "CreditNote",
                "a CreditNote is not an invoice: crediting needs attest and goes through Fordra's "
                "credit procedure (domain.md §2, seed 002)",
            )
            return None
        if root.tag != _INVOICE_TAG:
            self.problems.add(
                root_line,
                etree.QName(root).localname,
                f"the document is a {etree.QName(root).text}, not a PEPPOL BIS Billing 3.0 UBL "
                "Invoice (one Invoice per request)",
            )
            return None

        currency_el = self.find(root, "cbc:DocumentCurrencyCode")
        currency = self.text(currency_el)
        if currency != "SEK":
            # Stop here: every amount would repeat the same complaint.
            self.error(
                currency_el,
                "Invoice/cbc:DocumentCurrencyCode",
                f"currency {currency or '(missing)'}: Fordra invoices in SEK only",
            )
            return None

        invoice_lines = root.findall("cac:InvoiceLine", _NS)
        if not invoice_lines:
            self.problems.add(root_line, "Invoice/cac:InvoiceLine", "the invoice has no lines")
        if len(invoice_lines) > max_lines:
            reject_batch(
                f"the invoice has {len(invoice_lines):,} lines; at most {max_lines:,} are accepted",
                field="Invoice/cac:InvoiceLine",
            )

        type_el = self.find(root, "cbc:InvoiceTypeCode")
        type_code = self.text(type_el)
        if type_code not in _INVOICE_TYPE_CODES:
            accepted = ", ".join(f"{c} ({n})" for c, n in _INVOICE_TYPE_CODES.items())
            self.error(
                type_el,
                "Invoice/cbc:InvoiceTypeCode",
                f"invoice type {type_code or '(missing)'} is not accepted; accepted: {accepted}",
            )

        id_el = self.find(root, "cbc:ID")
        date_el = self.find(root, "cbc:IssueDate")
        ocr_el, ocr = self.payment_id()
        if department is None:
            self.problems.add(None, "department", "a PEPPOL invoice needs the department passed")
        if service_type is None:
            self.problems.add(
                None,
                "service_type",
                "a PEPPOL invoice does not say which service it bills: pass the service type",
            )

        lines: list[_UblLine] = []
        for n, line_el in enumerate(invoice_lines, start=1):
            lines.extend(self.invoice_line(line_el, n))
        for n, charge_el in enumerate(root.findall("cac:AllowanceCharge", _NS), start=1):
            line = self.allowance_charge(charge_el, f"Invoice/cac:AllowanceCharge[{n}]", None, None)
            if line is not None:
                lines.append(line)

        raw: dict[str, Any] = {
            "customer_id": UNRESOLVED_CUSTOMER_ID,
            "department": department,
            "service_type": service_type,
            "invoice_date": self.required_text(root, "cbc:IssueDate", "Invoice"),
            "source_reference": self.required_text(root, "cbc:ID", "Invoice"),
            "ocr": ocr,
            # None when there is no cac:InvoiceLine: that is already said, in the sender's terms.
            "lines": [line.raw for line in lines] if invoice_lines else None,
        }
        top_places = {
            "invoice_date": self.place(date_el, "Invoice/cbc:IssueDate"),
            "source_reference": self.place(id_el, "Invoice/cbc:ID"),
            "ocr": self.place(ocr_el, "Invoice/cac:PaymentMeans/cbc:PaymentID"),
            "department": Place(None, "department"),
            "service_type": Place(None, "service_type"),
        }

        def place_of(loc: tuple[int | str, ...]) -> Place:
            if loc and loc[0] == "lines":
                if len(loc) >= 3 and isinstance(loc[1], int) and loc[1] < len(lines):
                    return lines[loc[1]].place(str(loc[2]))
                return Place(root_line, "Invoice/cac:InvoiceLine")
            return top_places.get(str(loc[0]) if loc else "", Place(root_line, "Invoice"))

        draft = BatchDraft(line=root_line, source_reference=raw["source_reference"])
        draft.line_places = [line.place for line in lines]
        draft.customer_id_number = self.buyer_identity(raw["invoice_date"])
        draft.command = validate_command(raw, self.problems, place_of, none_is_reported=True)
        if draft.command is not None:
            # Every line is valid, so Fordra's totals can be computed and compared, whatever else
            # (the buyer, the type code) is wrong: the sender learns all of it at once.
            self.check_totals(draft.command, lines, invoice_lines)
        return draft

    def payment_id(self) -> tuple[etree._Element | None, str | None]:
        """The OCR the buyer was told to quote; BIS requires the same one in every PaymentMeans."""
        found: etree._Element | None = None
        for n, means in enumerate(self.root.findall("cac:PaymentMeans", _NS), start=1):
            element = self.find(means, "cbc:PaymentID")
            if element is None:
                continue
            if found is None:
                found = element
            elif self.text(element) != self.text(found):
                self.error(
                    element,
                    f"Invoice/cac:PaymentMeans[{n}]/cbc:PaymentID",
                    f"payment reference {self.text(element)!r} differs from {self.text(found)!r}:"
                    " an invoice has one",
                )
        return found, self.text(found)

    def buyer_identity(self, invoice_date: str | None) -> str | None:
        """The buyer's Swedish identity number in canonical form (domain.md §2), read as on the
        invoice date (the century of a 10-digit personnummer depends on the day it is read)."""
        buyer = self.find(self.root, _BUYER)
        candidates: list[tuple[etree._Element, str]] = []
        if buyer is not None:
            legal = self.find(buyer, "cac:PartyLegalEntity/cbc:CompanyID")
            if legal is not None and legal.get("schemeID") in (None, _SWEDISH_ORGNR_SCHEME):
                candidates.append((legal, f"Invoice/{_BUYER}/cac:PartyLegalEntity/cbc:CompanyID"))
            for n, ident in enumerate(buyer.findall("cac:PartyIdentification/cbc:ID", _NS), 1):
                if ident.get("schemeID") in (None, _SWEDISH_ORGNR_SCHEME):
                    path = f"Invoice/{_BUYER}/cac:PartyIdentification[{n}]/cbc:ID"
                    candidates.append((ident, path))
            endpoint = self.find(buyer, "cbc:EndpointID")
            if endpoint is not None and endpoint.get("schemeID") == _SWEDISH_ORGNR_SCHEME:
                candidates.append((endpoint, f"Invoice/{_BUYER}/cbc:EndpointID"))
        if not candidates:
            self.error(
                buyer,
                f"Invoice/{_BUYER}",
                "the buyer has no Swedish identity number: give the organisationsnummer or "
                "personnummer in cac:PartyLegalEntity/cbc:CompanyID (schemeID 0007 or none), "
                "cac:PartyIdentification/cbc:ID or cbc:EndpointID with schemeID 0007",
            )
            return None
        element, path = candidates[0]
        try:
            today = date.fromisoformat(invoice_date or "")
        except ValueError:
            return None  # the issue date's own error is reported; the number is checked then
        try:
            return parse_identity_number(self.text(element) or "", today=today).canonical
        except InvalidIdentityNumber as exc:
            self.error(element, path, f"the buyer's identity number is not valid: {exc}")
            return None

    def vat_rate(self, category: etree._Element | None, path: str) -> int | None:
        if category is None:
            self.error(None, path, "missing: the VAT category is required")
            return None
        code = self.text(self.find(category, "cbc:ID"))
        if code not in _VAT_CATEGORIES:
            self.error(
                category,
                f"{path}/cbc:ID",
                f"VAT category {code or '(missing)'} is not supported: Fordra's invoice cannot "
                "carry its legal statement (accepted: S, Z, E, O)",
            )
            return None
        percent_el = self.find(category, "cbc:Percent")
        if code == "O" and percent_el is None:
            return 0  # outside the scope of VAT: BIS forbids a percent there
        percent = self.decimal(percent_el, f"{path}/cbc:Percent")
        if percent is None:
            return None
        if percent != percent.to_integral_value():
            self.error(percent_el, f"{path}/cbc:Percent", f"VAT {percent} % is not a whole percent")
            return None
        return int(percent)

    def invoice_line(self, line_el: etree._Element, n: int) -> list[_UblLine]:
        base = f"Invoice/cac:InvoiceLine[{n}]"
        name_el = self.find(line_el, "cac:Item/cbc:Name")
        qty_el = self.find(line_el, "cbc:InvoicedQuantity")
        price_el = self.find(line_el, "cac:Price/cbc:PriceAmount")
        base_qty_el = self.find(line_el, "cac:Price/cbc:BaseQuantity")
        category_path = f"{base}/cac:Item/cac:ClassifiedTaxCategory"
        category_el = self.find(line_el, "cac:Item/cac:ClassifiedTaxCategory")
        percent_el = None if category_el is None else self.find(category_el, "cbc:Percent")
        places = {
            "description": self.place(
                name_el if name_el is not None else line_el, f"{base}/cac:Item/cbc:Name"
            ),
            "quantity": self.place(qty_el, f"{base}/cbc:InvoicedQuantity"),
            "unit_price_ore": self.place(price_el, f"{base}/cac:Price/cbc:PriceAmount"),
            "vat_rate": self.place(
                percent_el if percent_el is not None else line_el, f"{category_path}/cbc:Percent"
            ),
        }
        quantity = self.decimal(qty_el, places["quantity"].field or "")
        price = self.amount_ore(line_el, "cac:Price/cbc:PriceAmount", base)
        per = Decimal(1)
        if base_qty_el is not None:
            per_value = self.decimal(base_qty_el, f"{base}/cac:Price/cbc:BaseQuantity")
            if per_value is not None and per_value <= 0:
                self.error(base_qty_el, f"{base}/cac:Price/cbc:BaseQuantity", "must be above 0")
            elif per_value is not None:
                per = per_value
        vat = self.vat_rate(category_el, category_path)

        unit_price: int | None = None
        if price is not None:
            exact = Decimal(price) / per
            if exact != exact.to_integral_value():
                self.error(
                    price_el,
                    places["unit_price_ore"].field or "",
                    f"the price per unit ({price} öre per {per}) is not a whole number of öre",
                )
            else:
                unit_price = int(exact)
        if quantity is not None and unit_price is not None and quantity < 0:
            # A returned item: Fordra lines have a positive quantity, so the price turns instead.
            quantity, unit_price = -quantity, -unit_price
        main = _UblLine(
            raw={
                "description": self.required_text(line_el, "cac:Item/cbc:Name", base),
                "quantity": quantity,
                "unit_price_ore": unit_price,
                "vat_rate": vat,
            },
            places=places,
            invoice_line=n,
        )
        result = [main]
        for k, charge_el in enumerate(line_el.findall("cac:AllowanceCharge", _NS), start=1):
            extra = self.allowance_charge(charge_el, f"{base}/cac:AllowanceCharge[{k}]", vat, n)
            if extra is not None:
                result.append(extra)
        return result

    def allowance_charge(
        self,
        element: etree._Element,
        base: str,
        line_vat: int | None,
        invoice_line: int | None,
    ) -> _UblLine | None:
        """An allowance (discount) or charge as a line of its own (seed 001: discounts per rate)."""
        indicator = (self.text(self.find(element, "cbc:ChargeIndicator")) or "").lower()
        if indicator not in ("true", "false"):
            self.error(element, f"{base}/cbc:ChargeIndicator", "must be true or false")
            return None
        is_charge = indicator == "true"
        amount = self.amount_ore(element, "cbc:Amount", base)
        if invoice_line is None:
            vat = self.vat_rate(self.find(element, "cac:TaxCategory"), f"{base}/cac:TaxCategory")
        else:
            vat = line_vat
        reason = self.text(self.find(element, "cbc:AllowanceChargeReason")) or self.text(
            self.find(element, "cbc:AllowanceChargeReasonCode")
        )
        label = "Tillägg" if is_charge else "Rabatt"
        place = self.place(element, base)
        amount_place = self.place(self.find(element, "cbc:Amount"), f"{base}/cbc:Amount")
        return _UblLine(
            raw={
                "description": f"{label}: {reason}" if reason else label,
                "quantity": Decimal(1),
                "unit_price_ore": None if amount is None else (amount if is_charge else -amount),
                "vat_rate": vat,
            },
            places={
                "description": place,
                "quantity": place,
                "unit_price_ore": amount_place,
                "vat_rate": self.place(element, f"{base}/cac:TaxCategory/cbc:Percent"),
            },
            invoice_line=invoice_line,
            allowance="charge" if is_charge else "allowance",
        )

    # -- totals -----------------------------------------------------------------------------

    def check_totals(
        self, cmd: IssueInvoice, lines: list[_UblLine], invoice_lines: list[etree._Element]
    ) -> None:
        try:
            self._check_totals(cmd, lines, invoice_lines)
        except InvalidOperation:
            # An amount or quantity with more digits than Decimal's 28 (found by fuzzing: a
            # 40-digit allowance): refused by name instead of escaping as a crash.
            self.error(
                self.root,
                "Invoice",
                "the amounts are too large to compute the totals: check every amount and quantity",
            )

    def _check_totals(
        self, cmd: IssueInvoice, lines: list[_UblLine], invoice_lines: list[etree._Element]
    ) -> None:
        """The document's totals must be Fordra's: lines at quantity x unit price rounded to whole
        öre, VAT on the net per rate rounded once per rate (domain.md §2, seed 001)."""
        priced = [
            InvoiceLine(
                description=line.description,
                service_type=line.service_type or cmd.service_type,
                quantity=line.quantity,
                unit_price_ore=line.unit_price_ore,
                vat_rate=line.vat_rate,
                net_ore=round_ore(line.quantity * Decimal(line.unit_price_ore)),
            )
            for line in cmd.lines
        ]
        for n, line_el in enumerate(invoice_lines, start=1):
            ours = sum(
                p.net_ore for p, src in zip(priced, lines, strict=True) if src.invoice_line == n
            )
            self.compare(
                line_el,
                "cbc:LineExtensionAmount",
                f"Invoice/cac:InvoiceLine[{n}]",
                ours,
                "this line's quantity x price, with its allowances and charges",
            )
        breakdown = vat_per_rate(priced)
        net = sum(b.net_ore for b in breakdown)
        vat = sum(b.vat_ore for b in breakdown)
        lines_net = sum(p.net_ore for p, src in zip(priced, lines, strict=True) if src.invoice_line)
        allowances = -sum(
            p.net_ore
            for p, src in zip(priced, lines, strict=True)
            if src.invoice_line is None and src.allowance == "allowance"
        )
        charges = sum(
            p.net_ore
            for p, src in zip(priced, lines, strict=True)
            if src.invoice_line is None and src.allowance == "charge"
        )

        base = "Invoice/cac:LegalMonetaryTotal"
        total_el = self.find(self.root, "cac:LegalMonetaryTotal")
        if total_el is None:
            self.error(None, base, "missing: the document's totals are required")
            return
        self.compare(total_el, "cbc:LineExtensionAmount", base, lines_net, "the sum of the lines")
        self.compare(
            total_el,
            "cbc:AllowanceTotalAmount",
            base,
            allowances,
            "the sum of the document's allowances",
            required=False,
        )
        self.compare(
            total_el,
            "cbc:ChargeTotalAmount",
            base,
            charges,
            "the sum of the document's charges",
            required=False,
        )
        self.compare(total_el, "cbc:TaxExclusiveAmount", base, net, "the invoice's net amount")
        self.compare(
            total_el, "cbc:TaxInclusiveAmount", base, net + vat, "net plus VAT rounded per rate"
        )
        for name, why in (
            ("cbc:PrepaidAmount", "an amount paid in advance"),
            ("cbc:PayableRoundingAmount", "a rounding of the amount due"),
        ):
            value = self.amount_ore(total_el, name, base, required=False)
            if value:
                self.error(
                    self.find(total_el, name),
                    f"{base}/{name}",
                    f"{_sek(value)} SEK is {why}: Fordra's invoice claims its full total "
                    f"{_sek(net + vat)} SEK, so the amount due would not add up",
                )
        self.compare(total_el, "cbc:PayableAmount", base, net + vat, "the invoice's total")
        self.check_tax_total(vat, {b.vat_rate: (b.net_ore, b.vat_ore) for b in breakdown})

    def check_tax_total(self, vat: int, ours: dict[int, tuple[int, int]]) -> None:
        # A second TaxTotal may state the VAT in a tax currency (BT-111); the one in SEK counts.
        for n, tax_total in enumerate(self.root.findall("cac:TaxTotal", _NS), start=1):
            amount_el = self.find(tax_total, "cbc:TaxAmount")
            if amount_el is not None and amount_el.get("currencyID", "SEK").strip() != "SEK":
                continue
            base = f"Invoice/cac:TaxTotal[{n}]"
            self.compare(tax_total, "cbc:TaxAmount", base, vat, "VAT rounded per rate")
            theirs: dict[int, tuple[int, int]] = {}
            for k, sub in enumerate(tax_total.findall("cac:TaxSubtotal", _NS), start=1):
                sub_base = f"{base}/cac:TaxSubtotal[{k}]"
                taxable = self.amount_ore(sub, "cbc:TaxableAmount", sub_base)
                tax = self.amount_ore(sub, "cbc:TaxAmount", sub_base)
                rate = self.vat_rate(
                    self.find(sub, "cac:TaxCategory"), f"{sub_base}/cac:TaxCategory"
                )
                if taxable is None or tax is None or rate is None:
                    return
                old = theirs.get(rate, (0, 0))
                theirs[rate] = (old[0] + taxable, old[1] + tax)
            # A rate with nothing on it says nothing (BIS lists exempt categories at 0).
            if _nonzero(theirs) != _nonzero(ours):
                self.error(
                    tax_total,
                    f"{base}/cac:TaxSubtotal",
                    f"the VAT per rate is {_rates(theirs)} but the lines give {_rates(ours)} as "
                    "Fordra computes them (VAT rounded once per rate): totals that do not add up",
                )
            return
        self.error(None, "Invoice/cac:TaxTotal", "missing: the VAT total in SEK is required")

    def compare(
        self,
        parent: etree._Element,
        relative: str,
        base: str,
        ours: int,
        what: str,
        *,
        required: bool = True,
    ) -> None:
        theirs = self.amount_ore(parent, relative, base, required=required)
        if theirs is not None and theirs != ours:
            self.error(
                self.find(parent, relative),
                f"{base}/{relative}",
                f"{relative.removeprefix('cbc:')} is {_sek(theirs)} SEK but {what} is "
                f"{_sek(ours)} SEK as Fordra computes it: totals that do not add up are refused",
            )


def _sek(ore: int) -> str:
    sign = "-" if ore < 0 else ""
    kronor, rest = divmod(abs(ore), ORE_PER_KRONA)
    return f"{sign}{kronor}.{rest:02d}"


def _nonzero(per_rate: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    return {rate: amounts for rate, amounts in per_rate.items() if amounts != (0, 0)}


def _rates(per_rate: dict[int, tuple[int, int]]) -> str:
    shown = [
        f"{rate} %: {_sek(net)} net, {_sek(vat)} VAT"
        for rate, (net, vat) in sorted(_nonzero(per_rate).items(), reverse=True)
    ]
    return "; ".join(shown) or "nothing"


def parse_ubl(
    data: bytes,
    problems: BatchProblems,
    max_lines: int,
    department: str | None,
    service_type: ServiceType | None,
) -> list[BatchDraft]:
    """The one invoice of the document as a draft (none for an empty request or a document that
    is no UBL Invoice); each problem is added to ``problems``. A document that is not UTF-8, has a
    DOCTYPE, is not well-formed or has more than ``max_lines`` ``cac:InvoiceLine`` elements rejects
    the batch at once. ``department`` and ``service_type`` fill what a UBL invoice does not say.
    """
    if not data.strip():
        return []
    declared = _XML_DECLARED_ENCODING.match(data)
    if declared and declared.group(1).decode("ascii").lower() not in ("utf-8", "utf8"):
        # PEPPOL documents are UTF-8; another encoding would also slip past the scan below.
        reject_batch(
            f"the document declares encoding {declared.group(1).decode('ascii')}: PEPPOL "
            "documents must be UTF-8",
            field=None,
            line=1,
        )
    text = decode_utf8(data)
    dangerous = _DANGEROUS_XML.search(text)
    if dangerous:
        # A DOCTYPE is how entity expansion ("billion laughs") and external entities (file or
        # network reads) get in; UBL never needs one, so refuse it before a parser sees it.
        line = text.count("\n", 0, dangerous.start()) + 1
        reject_batch(
            f"the document contains <!{dangerous.group(1).upper()}: DTDs and entity "
            "declarations are refused in PEPPOL documents",
            field=None,
            line=line,
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        reject_batch(f"not well-formed XML: {exc.msg}", field=None, line=exc.lineno or None)
    # Belt and braces: the scan above should make this unreachable.
    if root.getroottree().docinfo.doctype:
        reject_batch("DTDs are refused in PEPPOL documents", field=None, line=1)
    draft = _Ubl(root, problems).read(department, service_type, max_lines)
    return [] if draft is None else [draft]
