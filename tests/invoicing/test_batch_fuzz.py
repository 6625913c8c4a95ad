"""Mutation fuzzing of the invoice-batch parsers: JSON Lines, CSV and PEPPOL BIS 3 UBL (issue 10,
item 6).

Whatever bytes a department sends, ``parse_batch`` answers its commands or raises
``BatchRejected`` naming each problem: never another exception, never a hang (hypothesis'
deadline). The seeds are the formats' own examples from tests/invoicing/test_batch.py and the
SFTI PEPPOL test files of the shared fixtures (with a valid Swedish buyer, so that a mutation
reaches past the first check). The mutations are the bank-file fuzzer's (truncation, flips,
insertions, repeated and dropped lines, huge numbers, other encodings and line ends).

Bounded for the normal run: derandomized, 100 mutated files per format, a few seconds.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from fordra.invoicing.adapters.batch_formats import parse_batch
from fordra.invoicing.domain.batch import BatchItem, BatchRejected
from tests.fixtures_path import shared_fixtures
from tests.payments.test_parser_fuzz import _mutated
from tests.utils.batches import CSV, JSONL, SWEDISH_CSV, UBL, VAT_RATES, XML, body, jsonl

SFTI = shared_fixtures("peppol", "sfti-qap")
# The SFTI examples' buyer numbers fail the Luhn check; a real organisationsnummer lets the
# parse go on to the lines and totals.
_VALID_BUYER = b"5560160680"

SEEDS: dict[str, list[bytes]] = {
    JSONL: [
        jsonl(body("VA-1"), "", body("VA-2", service_type="waste")) + b"\n",
        jsonl(body("VA-3", lines=[{"description": "x", "unit_price_ore": 10, "vat_rate": 0}])),
    ],
    CSV: [
        SWEDISH_CSV.encode(),
        (
            "invoice_key,customer_id,department,service_type,invoice_date,source_reference,ocr,"
            "description,quantity,unit_price_ore,vat_rate,line_service_type\n"
            'k1,c-17,va,water,2026-05-04,,1234574,"Vatten, förbrukning","1,5",2140,25,\n'
            "k1,c-17,va,water,2026-05-04,,1234574,Avfall,1,9900,25,waste\n"
        ).encode(),
    ],
    XML: [
        UBL.encode(),
        (SFTI / "Invoice-Max_content.xml").read_bytes().replace(b"1234512345", _VALID_BUYER),
        (SFTI / "Manage_crediting-The_initial_invoice.xml")
        .read_bytes()
        .replace(b"9876543210", _VALID_BUYER),
    ],
}

FUZZ = settings(
    max_examples=100,
    deadline=2000,  # ms per example: a slow machine's worst case, far from a hang
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _outcome(data: bytes, content_type: str) -> list[BatchItem] | BatchRejected:
    """What ``parse_batch`` answers; any other exception fails the test."""
    try:
        return parse_batch(
            data, content_type, department="va", default_service_type="water", vat_rates=VAT_RATES
        )
    except BatchRejected as rejected:
        return rejected


def _parse_or_reject(data: bytes, content_type: str) -> None:
    outcome = _outcome(data, content_type)
    if isinstance(outcome, BatchRejected):
        assert outcome.errors
        assert all(error.message for error in outcome.errors)
    else:
        assert outcome
        assert all(isinstance(item, BatchItem) for item in outcome)


def test_the_seeds_parse() -> None:
    # A seed that is rejected as it stands would only fuzz the first check
    for content_type, seeds in SEEDS.items():
        for seed in seeds[:2]:
            assert parse_batch(seed, content_type, department="va", default_service_type="water"), (
                content_type
            )


@FUZZ
@given(_mutated(SEEDS[JSONL]))
def test_mutated_jsonl_batches_parse_or_are_rejected(data: bytes) -> None:
    _parse_or_reject(data, JSONL)


@FUZZ
@given(_mutated(SEEDS[CSV]))
def test_mutated_csv_batches_parse_or_are_rejected(data: bytes) -> None:
    _parse_or_reject(data, CSV)


@FUZZ
@given(_mutated(SEEDS[XML]))
def test_mutated_peppol_batches_parse_or_are_rejected(data: bytes) -> None:
    _parse_or_reject(data, XML)


def test_a_forty_digit_allowance_is_refused_not_a_crash() -> None:
    # Found by the fuzzer above: Decimal's 28 digits overflowed while the totals were computed
    huge = "9" * 40 + ".00"
    document = UBL.replace(
        '<cbc:Amount currencyID="SEK">20.00</cbc:Amount>',
        f'<cbc:Amount currencyID="SEK">{huge}</cbc:Amount>',
        1,
    )
    assert huge in document
    with pytest.raises(BatchRejected) as rejected:
        parse_batch(document.encode(), XML, department="va", default_service_type="water")
    # refused naming the amount: too large for a Decimal, or beyond what a store holds
    assert any(e.field.endswith("cbc:Amount") and e.line == 28 for e in rejected.value.errors), (
        rejected.value.errors
    )
