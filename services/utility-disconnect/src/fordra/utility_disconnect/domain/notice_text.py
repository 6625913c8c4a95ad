"""The notice's prescribed text (domain.md §6 "Prescribed notice text"; seed 003 line 29).

Ellagen 11 kap. 6 § lets the government fix the form of the notice (underrättelse) to a consumer;
elförordningen (2013:208) 26 § and its bilaga 1 fix it, and seed 003 quotes it whole. The notice
carries it word for word: nothing is added to, reworded in or dropped from these three sentences
(``fordra.utility_disconnect.domain.letters.check_notice_carries_prescribed_text``). It is also
the only letter of the procedure that names the social welfare board: the request to remedy, and
every demand before it, must not (seed 003 line 29, section 4.1).
"""

from __future__ import annotations

from typing import Final

# Kept as the rulebook writes it, one sentence a line, joined with single spaces.
PRESCRIBED_NOTICE_TEXT: Final[str] = " ".join(
    (
        "Eftersom du inte har betalat elnätsavgiften eller avgiften för levererad el i tid kan "
        "överföringen av din el komma att stängas av.",
        "Enligt bestämmelser i ellagen kan du hindra avstängningen genom att betala skulden inom "
        "tre veckor från det att du har fått del av detta meddelande.",
        "Socialnämnden i din kommun kommer att få ett meddelande om den uteblivna betalningen.",
    )
)
