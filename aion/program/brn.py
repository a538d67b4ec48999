"""Korean business registration number (사업자등록번호) validation.

A number has 10 digits, written ``XXX-XX-XXXXX``: a 3-digit tax-office code, a 2-digit
type code, a 4-digit serial and a check digit. The check digit is computed from the first
nine digits with the weights ``1 3 7 1 3 7 1 3 5``, adding the tens digit of
``9th digit * 5`` once more; the check digit is ``(10 - total % 10) % 10``.

>>> validate_brn("2208162517")
'220-81-62517'
>>> validate_brn(" 124-81-00998 ")
'124-81-00998'
>>> is_valid_brn("124-81-00997")
False
>>> is_valid_brn("12-34")
False
"""

from __future__ import annotations

import re

from aion.program.errors import InvalidBRNError

__all__ = ["InvalidBRNError", "brn_check_digit", "is_valid_brn", "validate_brn"]

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
# Separators people actually type: hyphen, en dash, spaces, dots.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.]")


def brn_check_digit(first_nine: str) -> int:
    """Check digit for the first nine digits of a business registration number.

    >>> brn_check_digit("220816251")
    7
    """
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise InvalidBRNError(
            f"사업자등록번호 앞 9자리는 숫자 9개여야 합니다: {first_nine!r} / "
            f"The first part of a business registration number must be 9 digits: {first_nine!r}"
        )
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True))
    total += (digits[8] * 5) // 10
    return (10 - total % 10) % 10


def validate_brn(text: str) -> str:
    """Validate a business registration number and return it as ``XXX-XX-XXXXX``.

    Accepts digits with or without hyphens or spaces. Raises :class:`InvalidBRNError`
    (a ``ValueError``) with a Korean/English message naming the bad value.

    >>> validate_brn("220-81-62517")
    '220-81-62517'
    >>> try:
    ...     validate_brn("220-81-62518")
    ... except InvalidBRNError as e:
    ...     print(str(e).split(" / ")[1])
    Business registration number check digit does not match: '220-81-62518' (last digit should be 7)
    """
    if not isinstance(text, str):
        raise InvalidBRNError(
            f"사업자등록번호는 문자열이어야 합니다: {text!r} / "
            f"A business registration number must be a string: {text!r}"
        )
    digits = _SEPARATORS.sub("", text)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise InvalidBRNError(
            f"사업자등록번호는 숫자 10자리(XXX-XX-XXXXX)여야 합니다: {text!r} / "
            f"A business registration number must be 10 digits (XXX-XX-XXXXX): {text!r}"
        )
    expected = brn_check_digit(digits[:9])
    if int(digits[9]) != expected:
        raise InvalidBRNError(
            f"사업자등록번호 검증번호가 맞지 않습니다: {text!r} (마지막 자리는 {expected}이어야 함) / "
            f"Business registration number check digit does not match: {text!r} "
            f"(last digit should be {expected})"
        )
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def is_valid_brn(text: str) -> bool:
    """``True`` when ``text`` is a well-formed business registration number with a valid check digit.

    >>> is_valid_brn("220-81-62517")
    True
    """
    try:
        validate_brn(text)
    except InvalidBRNError:
        return False
    return True
