"""Mutation fuzzing of the bank-file parsers (domain.md §9: a file is parsed or rejected whole).

Whatever bytes arrive, ``parse_bank_file`` answers a ``ParsedBankFile`` or raises
``BankFileRejected``: never another exception, never a hang. And every file it does parse keeps
the money property: the payments of each section add up to what the section declares.

Bounded for the normal run: about 200 mutated files per parser family, well under ten seconds;
derandomized (the same examples every run), so a failure repeats.
"""

from __future__ import annotations

import re
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fordra.payments.adapters.detect import parse_bank_file
from fordra.payments.domain.bank_file import BankFileRejected, ParsedBankFile
from tests.fixtures_path import shared_fixtures
from tests.payments import assert_every_ore_accounted
from tests.payments.camt_factory import Entry, Tx, camt054

FIXTURES = shared_fixtures()
_OCR_EXAMPLE = (
    "bgmax/more/rickardlindgren_bankgiroinbetalningar_exempelfil_avtal-om-ocr-kontroll_"
    "checksiffra_langd_sv.txt"
)

FLAT_SEEDS = [
    (FIXTURES / "bgmax" / "BgMaxfil4.txt").read_bytes(),
    (FIXTURES / _OCR_EXAMPLE).read_bytes().replace(b"\t\t", b" " * 12),  # with a TK21
    (FIXTURES / "autogiro" / "ny_layout" / "autogiro_exempelfil_bet-spec-o-tk_sv.txt").read_bytes(),
    next((FIXTURES / "autogiro" / "gammal_layout").glob("*betalningsspec*")).read_bytes(),
]
XML_SEEDS = [
    (FIXTURES / "camt054" / "oca_test-camt054.xml").read_bytes(),
    (FIXTURES / "camt054" / "genkgo_camt054.v4.xml").read_bytes(),
    camt054(
        Entry(
            amount="1780.50",
            batch_count=2,
            batch_total="1780.50",
            txs=(
                Tx(amount="1245.00", scor=("1234574",), acct_svcr_ref="T-1", debtor="Anna"),
                Tx(amount="535.50", ustrd=("Hyra",), acct_svcr_ref="T-2"),
            ),
        ),
        Entry(
            amount="500",
            credit_debit="DBIT",
            reversal=True,
            acct_svcr_ref="R-1",
            txs=(Tx(tx_id="T-9"),),
        ),
        version="001.08",
    ),
]

FUZZ = settings(
    max_examples=200,
    deadline=2000,  # ms per example: a slow machine's worst case, far from a hang
    database=None,  # no .hypothesis folder in the work tree
    derandomize=True,  # a bounded budget in `make test`: the same examples every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


OPERATIONS = (
    "flip",
    "digit",
    "insert",
    "delete",
    "truncate",
    "dup_line",
    "drop_line",
    "huge_number",
    "encoding",
    "line_ends",
)
# Another encoding of the whole file: what a careless export or transfer makes of it.
ENCODINGS = ("utf-16", "utf-8-sig", "latin-1", "cp437", "utf-32")
_DIGITS = re.compile(rb"\d+")


def _recode(data: bytes, encoding: str) -> bytes:
    text = data.decode("utf-8", errors="replace")
    return text.encode(encoding, errors="replace")


def _edit(draw: st.DrawFn, data: bytearray, operation: str) -> bytearray:
    """One edit of ``data`` (in place where it can)."""
    at = draw(st.integers(min_value=0, max_value=len(data) - 1))
    if operation == "huge_number":
        numbers = list(_DIGITS.finditer(data))
        if numbers:
            number = numbers[at % len(numbers)]
            data[number.start() : number.end()] = b"9" * draw(st.sampled_from([19, 20, 40, 400]))
    elif operation == "encoding":
        data = bytearray(_recode(bytes(data), draw(st.sampled_from(ENCODINGS))))
    elif operation == "line_ends":
        ending = draw(st.sampled_from([b"\r\n", b"\r", b"\n\n", b"\x85"]))
        data = bytearray(bytes(data).replace(b"\r\n", b"\n").replace(b"\n", ending))
    elif operation == "flip":
        data[at] = draw(st.integers(min_value=0, max_value=255))
    elif operation == "digit":
        data[at] = draw(st.sampled_from(b"0123456789 \t"))
    elif operation == "insert":
        data[at:at] = draw(st.binary(min_size=1, max_size=8))
    elif operation == "delete":
        del data[at : at + draw(st.integers(min_value=1, max_value=40))]
    elif operation == "truncate":
        del data[at:]
    else:
        lines = bytes(data).split(b"\n")
        index = at % len(lines)
        if operation == "dup_line":
            lines.insert(index, lines[index])
        else:
            del lines[index]
        data = bytearray(b"\n".join(lines))
    return data


@st.composite
def _mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed file with a few edits: byte flips, insertions, deletions, digit changes, a
    repeated or dropped line, truncation, a number grown huge (up to 400 digits), the whole
    file in another encoding, other line ends. Shared by the batch fuzzing
    (tests/invoicing/test_batch_fuzz.py)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not data:
            break
        data = _edit(draw, data, draw(st.sampled_from(OPERATIONS)))
    return bytes(data)


def _outcome(data: bytes) -> ParsedBankFile | BankFileRejected:
    """What ``parse_bank_file`` answers; any other exception fails the test."""
    try:
        return parse_bank_file(data)
    except BankFileRejected as error:
        return error


def _parse_or_reject(data: bytes) -> None:
    outcome = _outcome(data)
    if isinstance(outcome, BankFileRejected):
        assert outcome.errors
        assert all(set(e) == {"line", "element", "message"} for e in outcome.errors)
        assert all(e["message"] for e in outcome.errors)
    else:
        assert_every_ore_accounted(outcome)


@FUZZ
@given(_mutated(FLAT_SEEDS))
def test_mutated_flat_files_parse_or_are_rejected(data: bytes) -> None:
    _parse_or_reject(data)


@FUZZ
@given(_mutated(XML_SEEDS))
def test_mutated_xml_files_parse_or_are_rejected(data: bytes) -> None:
    _parse_or_reject(data)


@settings(max_examples=100, deadline=2000, database=None, derandomize=True)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_are_rejected(data: bytes) -> None:
    _parse_or_reject(data)


@settings(max_examples=100, deadline=2000, database=None, derandomize=True)
@given(
    amounts=st.lists(st.integers(min_value=2, max_value=10**12), min_size=1, max_size=8),
    skew=st.sampled_from([0, 0, 0, 1, -1]),
)
def test_generated_batches_keep_every_ore(amounts: list[int], skew: int) -> None:
    """A batch entry books exactly its transactions; one öre off and the file is rejected."""
    total = sum(amounts) + skew
    txs = tuple(
        Tx(amount=f"{a // 100}.{a % 100:02d}", acct_svcr_ref=f"T-{i}")
        for i, a in enumerate(amounts)
    )
    data = camt054(Entry(amount=f"{total // 100}.{total % 100:02d}", txs=txs))
    outcome = _outcome(data)
    if isinstance(outcome, BankFileRejected):
        assert skew != 0
        assert "its transactions add up to" in outcome.errors[0]["message"]
    else:
        assert skew == 0
        assert [p.amount_ore for p in outcome.payments] == amounts
        assert_every_ore_accounted(outcome)


def test_a_huge_garbage_file_is_rejected_quickly() -> None:
    # Half a million bad lines (40 MB, under the size limit): the problem list stops at its
    # limit instead of growing with the file.
    data = b"99" + b"x" * 78 + b"\n"
    started = time.monotonic()
    outcome = _outcome(b"01BGMAX               0120040525173035010331P\n" + data * 500_000)
    elapsed = time.monotonic() - started

    assert isinstance(outcome, BankFileRejected)
    assert outcome.errors[-1]["message"] == "stopped after 200 problems: the file is badly damaged"
    assert elapsed < 10
