"""Validation and normalisation of the numbers the dialer may call. Every accepted number is
stored and dialled in E.164 (+CC...), whatever the operator typed.

Rules ("nz" policy): national numbers (021 123 4567, 09 123 4567, 0800 559 009) or +64 / 0064;
mobiles 02x with 8-10 significant digits, landlines 03/04/06/07/09 with 8, freephone 0800/0508
with 9-10; premium-rate 0900 is refused; other countries only with `allow_international`.
("e164" policy): +CC followed by 8-15 digits in all, nothing more specific.
Refused everywhere: letters, control or invisible characters, absurd lengths.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from callrec.dialer.errors import InvalidNumber
from callrec.dialer.settings import DialerConfig

MAX_INPUT_CHARS = 32  # generous for "+64 (0)21 123-4567"; refuses pasted paragraphs
_SEPARATORS = frozenset(" -.()")
_DIGITS = frozenset("0123456789")  # not str.isdigit(): that accepts Arabic-Indic, superscripts...
NZ = "64"


@dataclass(frozen=True)
class NumberRules:
    policy: str = "nz"
    allow_international: bool = False

    @classmethod
    def from_config(cls, config: DialerConfig) -> NumberRules:
        return cls(config.numbers, config.allow_international)


def normalise(text: str, rules: NumberRules = NumberRules()) -> str:
    """The number as E.164, or InvalidNumber saying what is wrong with it."""
    body = _characters(text)
    digits = _international_digits(body, rules)
    if not 8 <= len(digits) <= 15:
        raise InvalidNumber(f"{len(digits)} digits with the country code: E.164 numbers have "
                            f"8 to 15")
    if digits[0] == "0":
        raise InvalidNumber("a country code never starts with 0")
    if digits.startswith(NZ) and rules.policy == "nz":
        _check_nz(digits[len(NZ):])
    elif rules.policy == "nz" and not rules.allow_international:
        raise InvalidNumber("not a New Zealand number (international numbers are not allowed)")
    return "+" + digits


def national(e164: str) -> str:
    """How a New Zealand number is written at home (0 + significant number); others as E.164."""
    return "0" + e164[1 + len(NZ):] if e164.startswith("+" + NZ) else e164


def _characters(text: str) -> str:
    if len(text) > MAX_INPUT_CHARS:
        raise InvalidNumber(f"longer than {MAX_INPUT_CHARS} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        raise InvalidNumber("contains control or invisible characters")
    stripped = "".join(c for c in text.strip() if c not in _SEPARATORS)
    if not stripped:
        raise InvalidNumber("empty")
    body = stripped.removeprefix("+")
    letters = [c for c in body if c.isalpha()]
    if letters:
        raise InvalidNumber(f"contains letters ({''.join(letters[:5])})")
    other = [c for c in body if c not in _DIGITS]
    if other:
        raise InvalidNumber(f"contains {other[0]!r}; only digits, spaces, -.() and a leading +")
    return stripped


def _international_digits(body: str, rules: NumberRules) -> str:
    if body.startswith("+"):
        return body[1:]
    if rules.policy == "nz":
        if body.startswith("00"):  # NZ's international prefix: 0064 21 ... = +64 21 ...
            return body[2:]
        if body.startswith("0"):
            return NZ + body[1:]
        raise InvalidNumber("a New Zealand number starts with 0 (national) or +64")
    raise InvalidNumber("must start with + and the country code (E.164)")


def _check_nz(significant: str) -> None:
    """The national significant number (after +64) must be one a contact centre may call."""
    lead = significant[:1]
    if significant.startswith("900"):
        raise InvalidNumber("premium-rate (0900) numbers are not dialled")
    if significant.startswith(("800", "508")):
        _nz_length(significant, 9, 10, "freephone")
    elif lead == "2":
        _nz_length(significant, 8, 10, "mobile")
    elif lead in ("3", "4", "6", "7", "9"):
        _nz_length(significant, 8, 8, "landline")
    else:
        raise InvalidNumber(f"0{significant[:3]}... is not a dialable New Zealand number")


def _nz_length(significant: str, low: int, high: int, kind: str) -> None:
    if not low <= len(significant) <= high:
        digits = f"{low}" if low == high else f"{low}-{high}"
        raise InvalidNumber(f"a New Zealand {kind} number has {digits} digits after the 0 "
                            f"(this one has {len(significant)})")
