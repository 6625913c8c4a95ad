"""An agency's webhook (issue 15): the HMAC-SHA256 signature and the body's schema per kind."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from fordra.agency_gateway.domain.webhook import (
    ObjectionReport,
    PaymentReport,
    StepReport,
    parse_report,
    signature_of,
    signature_valid,
)

SECRET = "s3cret-of-the-agency"
BODY = b'{"event_id":"e1","case_id":"c1","kind":"opened","occurred_on":"2026-04-22"}'


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    # Computed apart: printf '%s' BODY | openssl dgst -sha256 -hmac SECRET
    expected = "sha256=a4d3d6993cbda9e96072765a1e8071058a734243b519cec056319e08a1baf3dc"
    assert signature_of(BODY, SECRET) == expected
    assert signature_valid(BODY, expected, SECRET)
    assert signature_valid(BODY, expected.upper().replace("SHA256=", "sha256="), SECRET)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (BODY, None, SECRET),  # none
        (BODY, "", SECRET),
        (BODY, signature_of(BODY, SECRET).removeprefix("sha256="), SECRET),  # no scheme
        (BODY, "sha1=" + signature_of(BODY, SECRET)[7:], SECRET),  # another scheme
        (BODY, signature_of(BODY, "another agency"), SECRET),  # another agency's secret
        (BODY.replace(b"c1", b"c2"), signature_of(BODY, SECRET), SECRET),  # a changed body
        (BODY, signature_of(BODY, SECRET), None),  # an agency without a secret
        (BODY, signature_of(BODY, ""), ""),
    ],
)
def test_anything_but_the_agencys_signature_of_this_body_is_refused(
    body: bytes, header: str | None, secret: str | None
) -> None:
    assert not signature_valid(body, header, secret)


def report(**fields: object) -> bytes:
    return orjson.dumps({"event_id": "e1", "case_id": "c1", "occurred_on": "2026-05-06", **fields})


def test_each_kind_has_its_schema() -> None:
    assert isinstance(parse_report(report(kind="judgment")), StepReport)
    objection = parse_report(report(kind="objection", notice_sent_on="2026-05-05"))
    assert isinstance(objection, ObjectionReport)
    payment = parse_report(
        report(
            kind="payment_collected",
            capital_ore=100,
            interest_ore=5,
            collection_fee_ore=18000,
            municipality_share_ore=18105,
            agency_reference="ignored: an agency's own field",
        )
    )
    assert isinstance(payment, PaymentReport)
    assert payment.collected_ore == 18105


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (report(kind="objection"), "notice_sent_on"),
        (report(kind="objection", notice_sent_on="2026-05-07"), None),  # sent after reported
        (report(kind="rumour"), None),
        (report(kind="opened", occurred_on="2026-02-30"), "occurred_on"),
        (report(kind="opened", event_id=""), "event_id"),
        (report(kind="opened", case_id="a b"), "case_id"),
        (
            report(
                kind="payment_collected", capital_ore=-1, interest_ore=0, municipality_share_ore=0
            ),
            "capital_ore",
        ),
        (
            report(
                kind="payment_collected", capital_ore=1.5, interest_ore=0, municipality_share_ore=0
            ),
            "capital_ore",
        ),
        (
            report(
                kind="payment_collected", capital_ore=0, interest_ore=0, municipality_share_ore=0
            ),
            None,
        ),
        (
            report(
                kind="payment_collected", capital_ore=10, interest_ore=0, municipality_share_ore=11
            ),
            None,
        ),
        (b"[]", None),
        (b"not json", None),
    ],
)
def test_a_malformed_report_is_refused_naming_the_field(body: bytes, field: str | None) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_report(body)
    if field is not None:
        assert field in refused.value.errors()[0]["loc"]
