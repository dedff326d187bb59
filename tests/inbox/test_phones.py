"""inbox.phones: what people really type, in the countries the shops sell to, and the
equivalences that keep one WhatsApp customer one contact."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox.phones import equivalent_numbers, from_wa_id, parse_phone, same_line, to_wa_id

TYPED = [
    # Brazil: mobiles with the ninth digit, the old eight-digit form, landlines, trunk and carrier prefixes.
    ("BR", "(11) 98765-4321", "+5511987654321"),
    ("BR", "11 98765 4321", "+5511987654321"),
    ("BR", "011 98765-4321", "+5511987654321"),
    ("BR", "0 21 11 98765-4321", "+5511987654321"),  # carrier selection code 21
    ("BR", "+55 (11) 98765-4321", "+5511987654321"),
    ("BR", "0055 11 98765 4321", "+5511987654321"),
    ("BR", "+55 11 8765-4321", "+5511987654321"),  # mobile written before the ninth digit
    ("BR", "(21) 3456-7890", "+552134567890"),  # landline: no ninth digit to add
    ("AR", "+54 9 11 1234-5678", "+5491112345678"),
    ("AR", "011 15-1234-5678", "+5491112345678"),  # national trunk 0 and mobile 15
    ("AR", "+54 11 15-1234-5678", "+5491112345678"),
    ("AR", "11 15 1234 5678", "+5491112345678"),
    ("AR", "0351 15 412-3456", "+5493514123456"),
    ("AR", "(011) 4321-5678", "+541143215678"),  # Buenos Aires landline
    ("MX", "+52 1 55 1234 5678", "+525512345678"),  # the abolished mobile 1
    ("MX", "044 55 1234 5678", "+525512345678"),  # the abolished national mobile prefix
    ("MX", "55 1234 5678", "+525512345678"),
    ("MX", "(33) 1234-5678", "+523312345678"),
    ("PT", "912 345 678", "+351912345678"),
    ("PT", "00351 912 345 678", "+351912345678"),
    ("PT", "21 234 5678", "+351212345678"),
    ("ES", "612 34 56 78", "+34612345678"),
    ("ES", "0034 612-345-678", "+34612345678"),
    ("ES", "+34 91 123 45 67", "+34911234567"),
    ("US", "(415) 555-2671", "+14155552671"),
    ("US", "1-415-555-2671", "+14155552671"),
    ("US", "415.555.2671", "+14155552671"),
    ("BR", "+1 415 555 2671", "+14155552671"),  # a country code beats the inbox's region
    ("BR", "001 415 555 2671", "+14155552671"),
]


@pytest.mark.parametrize("region, typed, expected", TYPED)
def test_real_world_formats(region, typed, expected):
    phone = parse_phone(typed, region)
    assert phone.valid and phone.e164 == expected and phone.stored == expected


@pytest.mark.parametrize("typed", ["", "   ", "abc", "123", "+55 11", "call me", "11 9876", "+11987654321",
                                   "+55 11 98765-4321 ramal 2"])
def test_what_cannot_be_read_is_kept_as_typed_and_flagged(typed):
    phone = parse_phone(typed, "BR")
    assert not phone.valid and phone.e164 == "" and phone.stored == typed.strip()
    assert equivalent_numbers(phone.e164) == []


def test_the_region_decides_national_numbers():
    assert parse_phone("(11) 98765-4321", "BR").e164 == "+5511987654321"
    assert parse_phone("11 15 1234 5678", "AR").e164 == "+5491112345678"
    assert parse_phone("912 345 678", "pt").e164 == "+351912345678"  # case does not matter
    assert parse_phone("912 345 678", None).region == ""  # default BR: not a Brazilian number


@pytest.mark.parametrize("wa_id, canonical", [
    ("551187654321", "+5511987654321"),  # registered before the ninth digit
    ("5511987654321", "+5511987654321"),
    ("5491112345678", "+5491112345678"),
    ("5215512345678", "+525512345678"),
    ("351912345678", "+351912345678"),
    ("14155552671", "+14155552671"),
])
def test_wa_ids(wa_id, canonical):
    assert from_wa_id(wa_id).e164 == canonical
    assert to_wa_id(canonical) == canonical[1:]


@pytest.mark.parametrize("a, b", [
    ("+5511987654321", "+551187654321"),
    ("+5491112345678", "+541112345678"),
    ("+525512345678", "+5215512345678"),
])
def test_equivalent_forms_are_one_line(a, b):
    assert same_line(a, b) and same_line(b, a)
    assert set(equivalent_numbers(a)) == set(equivalent_numbers(b)) == {a, b}


@pytest.mark.parametrize("a, b", [
    ("+552134567890", "+5521934567890"),  # a landline and a mobile that differ by a nine
    ("+5511987654321", "+5511987654322"),
    ("+5511987654321", "+541187654321"),
    ("+351912345678", "+34912345678"),
    ("", ""),
])
def test_different_lines_stay_apart(a, b):
    assert not same_line(a, b)


def test_equivalents_start_with_the_canonical_form():
    assert equivalent_numbers("+551187654321") == ["+5511987654321", "+551187654321"]
    assert equivalent_numbers("+14155552671") == ["+14155552671"]


REGIONS = st.sampled_from(["BR", "AR", "MX", "PT", "ES", "US"])
SEPARATORS = st.sampled_from(["", " ", "-", ".", "(", ")", "  "])


@st.composite
def typed_numbers(draw):
    prefix = draw(st.sampled_from(["", "+", "00", "0", "+55", "+54 9", "+52 1", "0055"]))
    digits = draw(st.text(alphabet="0123456789", min_size=4, max_size=14))
    spaced = "".join(d + draw(SEPARATORS) for d in digits)
    return prefix + spaced


@settings(max_examples=400, deadline=None)
@given(typed=typed_numbers(), region=REGIONS)
def test_formatting_is_idempotent(typed, region):
    once = parse_phone(typed, region)
    twice = parse_phone(once.stored, region)
    assert twice.stored == once.stored and twice.valid == once.valid
    if once.valid:
        # The canonical number reads the same whatever the reader's region.
        assert parse_phone(once.e164, "US").e164 == once.e164
        assert equivalent_numbers(once.e164)[0] == once.e164
        assert from_wa_id(to_wa_id(once.e164)).e164 == once.e164


@settings(max_examples=300, deadline=None)
@given(typed=typed_numbers(), region=REGIONS)
def test_equivalence_is_symmetric_and_keeps_the_canonical_form(typed, region):
    phone = parse_phone(typed, region)
    for form in equivalent_numbers(phone.e164):
        assert equivalent_numbers(form)[0] == phone.e164
        assert same_line(form, phone.e164)
