"""Business registration number validation."""

from __future__ import annotations

import random

import pytest

from aion.program.brn import brn_check_digit, is_valid_brn, validate_brn
from aion.program.errors import InvalidBRNError, ProgramError


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("2208162517", "220-81-62517"),
        ("220-81-62517", "220-81-62517"),
        ("124 81 00998", "124-81-00998"),
        ("  124-81-00998\n", "124-81-00998"),
    ],
)
def test_valid_numbers_are_normalised(text: str, normalised: str) -> None:
    assert validate_brn(text) == normalised
    assert is_valid_brn(text)


@pytest.mark.parametrize(
    "text", ["", "123", "12345678901", "22O-81-62517", "２２０８１６２５１７", "220/81/62517"]
)
def test_malformed_numbers_are_rejected(text: str) -> None:
    with pytest.raises(InvalidBRNError) as info:
        validate_brn(text)
    assert "사업자등록번호" in str(info.value)
    assert "business registration number" in str(info.value)
    assert not is_valid_brn(text)


def test_error_is_a_value_error_and_program_error() -> None:
    with pytest.raises(ValueError):
        validate_brn("220-81-62510")
    with pytest.raises(ProgramError):
        validate_brn("220-81-62510")


def test_every_wrong_check_digit_is_rejected() -> None:
    rng = random.Random(7)
    for _ in range(200):
        first = "".join(str(rng.randrange(10)) for _ in range(9))
        good = brn_check_digit(first)
        assert is_valid_brn(first + str(good))
        for wrong in set(range(10)) - {good}:
            assert not is_valid_brn(first + str(wrong))


def test_ninth_digit_carry_matters() -> None:
    # The ninth digit is counted as d*5 plus the tens digit of d*5: flipping it changes the check.
    assert brn_check_digit("000000001") == 5  # 1*5 = 5, no carry
    assert brn_check_digit("000000002") == 9  # 2*5 = 10 -> 10 + 1 = 11
