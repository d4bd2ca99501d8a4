"""Registration numbers (portal/registration_numbers.py): the National Tax Agency's check
digit, on a real corporate number and on the demo's example."""

from __future__ import annotations

import pytest

from portal.registration_numbers import EXAMPLE, check_digit, refusal


def test_the_check_digit_of_a_real_corporate_number() -> None:
    # The National Tax Agency's own corporate number is 7000012050002.
    assert check_digit("000012050002") == 7
    assert refusal("T7000012050002") is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("T1234567890123", "wrong check digit"),
        ("7123456789012", "not T followed by 13 digits"),
        ("T712345678901", "not T followed by 13 digits"),
        ("t7123456789012", "not T followed by 13 digits"),
        ("T71234567890１2", "not T followed by 13 digits"),  # a full-width digit
    ],
)
def test_a_number_that_is_none_is_refused_with_the_reason(value: str, reason: str) -> None:
    found = refusal(value)
    assert found is not None and reason in found


def test_the_demos_example_is_valid() -> None:
    assert refusal(EXAMPLE) is None
