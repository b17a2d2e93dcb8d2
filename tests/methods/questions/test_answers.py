from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from django.conf import settings

from methods.questions.answers import answer_matches, hash_answer, normalise, visible


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Blue   Whale ", "blue whale"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # case-folding, not just lower-casing
        ("ｆｕｌｌ　ｗｉｄｔｈ", "full width"),  # NFKC
        ("tab\tand\nnewline", "tab and newline"),
    ],
)
def test_answers_are_normalised(typed, stored):
    assert normalise(typed) == stored


def test_answer_hash_is_argon2id_with_strong_parameters():
    encoded = hash_answer("blue whale")
    assert encoded.startswith("argon2$argon2id$")
    params = PasswordHasher().check_needs_rehash  # noqa: F841  (argon2 is importable)
    from argon2 import extract_parameters

    parameters = extract_parameters(encoded.removeprefix("argon2"))
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert "blue" not in encoded


def test_typed_answer_matches_its_hash_however_it_is_spaced_or_cased():
    encoded = hash_answer(normalise("Blue Whale"))
    assert answer_matches("  BLUE    whale", encoded)
    assert not answer_matches("blue whales", encoded)


def test_argon2_is_the_first_password_hasher():
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_characters_that_show_nothing_are_not_counted_but_stay_in_the_hash():
    """An answer of zero-width spaces alone is no answer (the form counts what shows); an
    answer kept before with a joiner in it (Persian, an emoji sequence) still matches."""
    assert visible(normalise("\u200b\u200b\u200b\u200b")) == ""
    assert visible(normalise("\u200bblue whale\u200e")) == "blue whale"
    kept = hash_answer(normalise("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"))
    assert answer_matches("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", kept)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("same", "attempt"), [(True, 0), (True, 1), (False, 0), (False, 1)])
def test_two_sets_saved_at_once_leave_one_whole_set(make_user, approved_questions, same, attempt):
    """Two tabs (or a double click) saving questions at the same moment: no error page, and
    what is stored is one of the two sets whole, never half of each (SQLite here, PostgreSQL
    in the services pass)."""
    import threading

    from django.test import Client

    from methods.models import SecurityAnswer, SecurityQuestion
    from methods.questions.answers import answer_matches
    from tests.support.at_once import at_once
    from tests.support.people import sign_in

    user = make_user("alice")
    pks = list(SecurityQuestion.objects.filter(active=True).values_list("pk", flat=True))
    sets = [
        dict(zip(pks[:3], ["blue whale", "lisbon", "clarinet"], strict=True)),
        dict(zip(pks[:3] if same else pks[3:6], ["red fox", "porto", "oboe"], strict=True)),
    ]
    tabs = []
    for chosen in sets:
        client = Client(raise_request_exception=False)
        assert sign_in(client, "alice").status_code == 302
        data = {}
        for n, (pk, answer) in enumerate(chosen.items(), start=1):
            data |= {f"question_{n}": str(pk), f"answer_{n}": answer}
        tabs.append((client, data))
    lock, order = threading.Lock(), iter(tabs)

    def save():
        with lock:
            client, data = next(order)
        return client.post("/ssprsetup/questions/", data).status_code

    assert sorted(at_once(save)) == [302, 302]
    stored = {a.question_id: a.answer_hash for a in SecurityAnswer.objects.filter(user=user)}
    assert any(
        set(stored) == set(chosen)
        and all(answer_matches(answer, stored[pk]) for pk, answer in chosen.items())
        for chosen in sets
    ), stored
