"""The upper bound of every amount a bank file carries (issue 10: an amount above 2^63 öre, once
booked, broke every reader of it).

A file with any amount above the bound is refused whole, each such amount named by its line
(BgMax, Autogiro) or element (camt.054), like every other problem of a bank file (domain.md §9):
nothing of it is booked. The bound is a dated setting (``PaymentsSettings.max_amount_ore``).
Pure: no I/O.
"""

from __future__ import annotations

from fordra.payments.domain.bank_file import BankFileRejected, ParsedBankFile, Problems


def check_bank_file_amounts(parsed: ParsedBankFile, max_ore: int) -> None:
    """Raise ``BankFileRejected`` listing every amount of ``parsed`` above ``max_ore`` (either
    sign): payments, their extra references, Autogiro results, skipped entries, declared and
    computed section sums and control totals."""
    problems = Problems(parsed.format)

    def check(what: str, amount: int | None, line: int | None, element: str | None) -> None:
        if amount is not None and abs(amount) > max_ore:
            problems.add(
                f"{what} of {abs(amount)} öre is above the largest amount accepted, {max_ore} öre",
                line=line,
                element=element,
            )

    for p in parsed.payments:
        check("the amount", p.amount_ore, p.line, p.element)
        for x in p.extra_references:
            check("the extra reference's amount", x.amount_ore, x.line, x.element)
    for r in parsed.autogiro_results:
        check("the amount", r.amount_ore, r.line, None)
    for s in parsed.skipped:
        check("the skipped entry's amount", s.amount_ore, None, s.element)
    for t in parsed.sections:
        check("the declared sum", t.declared_sum_ore, t.line, t.element)
        check("the sum of the payments", t.computed_sum_ore, t.line, t.element)
    for c in parsed.controls:
        check(f"the control total ({c.what})", c.declared, c.line, c.element)
        check(f"the computed total ({c.what})", c.computed, c.line, c.element)
    if problems:
        raise BankFileRejected(list(problems.errors), file_format=parsed.format)
