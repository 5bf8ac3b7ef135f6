"""Which numbers may be dialled, and how they are stored (E.164)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callrec.dialer.errors import InvalidNumber
from callrec.dialer.numbers import NumberRules, national, normalise

NZ = NumberRules("nz")
NZ_ABROAD = NumberRules("nz", allow_international=True)
E164 = NumberRules("e164")


@pytest.mark.parametrize(("typed", "stored"), [
    ("021 123 4567", "+64211234567"),
    ("021-123-4567", "+64211234567"),
    ("(09) 123 4567", "+6491234567"),
    ("+64 21 123 456", "+6421123456"),
    ("0064 4 123 4567", "+6441234567"),
    ("0800 559 009", "+64800559009"),
    ("0508 123 4567", "+645081234567"),
    (" 0210 123 4567 ", "+642101234567"),
])
def test_new_zealand_numbers_are_stored_as_e164(typed: str, stored: str) -> None:
    assert normalise(typed, NZ) == stored


@pytest.mark.parametrize(("typed", "reason"), [
    ("", "empty"),
    ("   ", "empty"),
    ("021 CALL ME", "contains letters (CALLM)"),
    ("021 123 4567 x2", "contains letters (x)"),
    ("021\t1234567", "control or invisible characters"),
    ("021\u200b1234567", "control or invisible characters"),
    ("021 123 4567" * 3, "longer than 32 characters"),
    ("021/123/4567", "contains '/'"),
    ("٠٢١١٢٣٤٥٦٧", "contains '٠'"),  # Arabic-Indic digits are digits to str.isdigit()
    ("1234567", "starts with 0 (national) or +64"),
    ("111", "starts with 0"),
    ("09 123 45", "landline number has 8 digits after the 0 (this one has 6)"),
    ("021 12", "E.164 numbers have 8 to 15"),
    ("0900 123 456", "premium-rate"),
    ("0123 456 789", "is not a dialable New Zealand number"),
    ("+61 2 9876 5432", "international numbers are not allowed"),
    ("+0 123 456 789", "never starts with 0"),
    ("+64 21 1234 5678 9012", "E.164 numbers have 8 to 15"),
    ("+64+21 123 4567", "contains '+'"),
])
def test_refused_under_the_nz_rules(typed: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as refused:
        normalise(typed, NZ)
    assert reason in str(refused.value)


def test_other_countries_only_when_allowed() -> None:
    assert normalise("+61 2 9876 5432", NZ_ABROAD) == "+61298765432"
    assert normalise("0061 2 9876 5432", NZ_ABROAD) == "+61298765432"
    assert normalise("+1 (415) 555-0100", E164) == "+14155550100"


def test_e164_rules_need_the_country_code() -> None:
    with pytest.raises(InvalidNumber, match="must start with \\+"):
        normalise("021 123 4567", E164)


def test_national_form_for_display() -> None:
    assert national("+64800559009") == "0800559009"
    assert national("+61298765432") == "+61298765432"


@given(st.text(max_size=40))
def test_anything_accepted_is_plain_e164(typed: str) -> None:
    for rules in (NZ, NZ_ABROAD, E164):
        try:
            stored = normalise(typed, rules)
        except InvalidNumber:
            continue
        assert stored[0] == "+" and stored[1:].isascii() and stored[1:].isdigit()
        assert 8 <= len(stored) - 1 <= 15 and stored[1] != "0"
        assert normalise(stored, rules) == stored  # normalising twice changes nothing
