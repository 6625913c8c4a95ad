"""Tests of the payments context. ``assert_every_ore_accounted`` is the money property every
parsed bank file must satisfy (domain.md §9; fordra.payments.domain.bank_file).
"""

from __future__ import annotations

from collections import defaultdict

from fordra.payments.domain.bank_file import ParsedBankFile


def assert_every_ore_accounted(parsed: ParsedBankFile) -> None:
    """Recount the parsed file from its items alone and compare with what the file declared.

    - the signed payments of each section (deductions and reversals negative) add up to the
      section's declared amount, and their number to its declared count;
    - every payment belongs to a section, and no öre is outside one;
    - each payment's extra references and what they leave to its own reference add up to it;
    - every Autogiro section's approved results add up to its declared amount;
    - every file-level control figure agrees.
    """
    by_section: dict[str, list[int]] = defaultdict(list)
    for payment in parsed.payments:
        by_section[payment.section].append(payment.amount_ore)
        extras = sum(x.amount_ore or 0 for x in payment.extra_references)
        assert extras + payment.unallocated_ore == payment.amount_ore
    for result in parsed.autogiro_results:
        if result.section is not None and result.moved_money:
            by_section[result.section].append(result.amount_ore)
    sections = {s.key: s for s in parsed.sections}
    assert set(by_section) <= set(sections), "a payment outside every section"
    for key, section in sections.items():
        amounts = by_section.get(key, [])
        assert sum(amounts) == section.computed_sum_ore
        if section.declared_sum_ore is not None:
            assert sum(amounts) == section.declared_sum_ore, key
        if section.declared_count is not None:
            assert len(amounts) == section.declared_count, key
    assert sum(parsed.total_ore_by_currency.values()) == sum(
        s.computed_sum_ore for s in parsed.sections if parsed.format != "autogiro"
    )
    for control in parsed.controls:
        assert control.declared == control.computed, control
