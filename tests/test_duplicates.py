"""The near-duplicate check scores only the pairs that share words, and finds what scoring every pair finds.

`scan_all_pairs` below is the plain quadratic scan the check used to run, kept as the reference. The
check must report the same pairs with the same scores on the course's banks (with their resolutions
taken away, so that there is something to find, and at a lower threshold too, for margin) and on
made-up banks into which reworded, reordered and mistyped copies of real stems are planted.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import pytest

from thbcourse.bank import duplicates
from thbcourse.bank.course import load_course
from thbcourse.bank.duplicates import (SHARED_WORDS, THRESHOLD, NearDuplicate, candidate_pairs, near_duplicates,
                                       normalise, similarity, word_keys)

from conftest import REPO


@pytest.fixture(autouse=True)
def word_filter(monkeypatch):
    """Every comparison here goes through the word filter that banks larger than EXACT_UP_TO take (the
    course's banks, smaller, are scanned pair by pair)."""
    monkeypatch.setattr(duplicates, "EXACT_UP_TO", 0)


@dataclass(frozen=True)
class Q:
    """What the check reads of a question."""

    id: str
    stem: str
    variant_group: str | None = None
    distinct_from: tuple[str, ...] = ()


def scan_all_pairs(questions: dict, threshold: float = THRESHOLD) -> list[NearDuplicate]:
    """The reference: every pair scored, in bank order, resolved pairs left out."""
    ids, found = list(questions), []
    for i, first in enumerate(ids):
        for second in ids[i + 1:]:
            a, b = questions[first], questions[second]
            resolved = ((a.variant_group is not None and a.variant_group == b.variant_group)
                        or b.id in a.distinct_from or a.id in b.distinct_from)
            score = similarity(a.stem, b.stem)
            if score >= threshold and not resolved:
                found.append(NearDuplicate(first, second, round(score, 1)))
    return found


@pytest.fixture(scope="module")
def course_stems() -> list[str]:
    return [q.stem for q in load_course([REPO / "quizzes"], book_root=None).questions.values()]


# --- the filter keeps exactly the pairs its rule names ---------------------------------------------

def test_candidate_pairs_are_the_pairs_sharing_a_quarter_of_the_smaller_stems_words(course_stems):
    stems = [normalise(s) for s in course_stems] + ["???", "???", "what is grooming?", "what is groming?"]
    keys = [word_keys(s) for s in stems]
    expected = [(i, j) for i in range(len(stems)) for j in range(i + 1, len(stems))
                if len(keys[i] & keys[j]) >= math.ceil(SHARED_WORDS * min(len(keys[i]), len(keys[j])))]
    assert candidate_pairs(stems) == expected


def test_words_are_compared_by_their_first_letters():
    assert word_keys("which platforms recruit victims?") == word_keys("which platform recruits victim")


# --- the course's banks ----------------------------------------------------------------------------

@pytest.mark.parametrize("threshold", [THRESHOLD, 60.0])
def test_same_findings_as_the_scan_of_all_pairs_on_the_course_banks(course_stems, threshold):
    questions = {f"q{i}": Q(f"q{i}", stem) for i, stem in enumerate(course_stems)}  # no resolutions
    expected = scan_all_pairs(questions, threshold)
    assert len(expected) >= (10 if threshold == THRESHOLD else 100)  # the pairs the authors resolved
    assert near_duplicates(questions, threshold) == expected


# --- made-up banks with planted near-duplicates ----------------------------------------------------

def made_up_stem(rng: random.Random) -> str:
    words = ("".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(1, 4)))
             for _ in range(rng.randint(4, 16)))
    return rng.choice(["Which ", "What ", "", "Match each "]) + " ".join(words) + rng.choice(["?", ".", ":"])


def reworded(stem: str, rng: random.Random, vocabulary: list[str]) -> str:
    """Up to a quarter of the words (at least one) replaced, dropped or added."""
    words = stem.split()
    for _ in range(rng.randint(1, max(1, len(words) // 4))):
        k = rng.randrange(len(words))
        change = rng.choice(["replace", "drop", "add"])
        if change == "replace":
            words[k] = rng.choice(vocabulary)
        elif change == "drop" and len(words) > 3:
            del words[k]
        else:
            words.insert(k, rng.choice(vocabulary))
    return " ".join(words)


def reordered(stem: str, rng: random.Random) -> str:
    """A clause moved: the text after a comma put first, or a run of words moved to the front."""
    head, comma, tail = stem.partition(", ")
    if comma:
        return f"{tail.rstrip('?.')}, {head}?"
    words = stem.split()
    k = rng.randrange(1, len(words))
    return " ".join(words[k:] + words[:k])


def mistyped(stem: str, rng: random.Random) -> str:
    """Slips of the keyboard, up to one in four words (at least one): a letter replaced, dropped,
    doubled or swapped."""
    text = list(stem)
    for _ in range(rng.randint(1, max(1, len(stem.split()) // 4))):
        k = rng.randrange(len(text) - 1)
        slip = rng.choice(["replace", "drop", "double", "swap"])
        if slip == "replace":
            text[k] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        elif slip == "drop":
            del text[k]
        elif slip == "double":
            text.insert(k, text[k])
        else:
            text[k], text[k + 1] = text[k + 1], text[k]
    return "".join(text)


def planted_bank(seed: int, course_stems: list[str], made_up: int = 250, planted: int = 150) -> dict[str, Q]:
    """Real and made-up stems, then copies of some of them changed in one or two ways; some of the
    copies resolved with their original by a variant group or distinct_from."""
    rng = random.Random(seed)
    stems = list(course_stems) + [made_up_stem(rng) for _ in range(made_up)]
    vocabulary = sorted({w for s in stems for w in s.split()})
    questions = {f"s{i}": Q(f"s{i}", stem) for i, stem in enumerate(stems)}
    changes = [lambda s: reworded(s, rng, vocabulary), lambda s: reordered(s, rng), lambda s: mistyped(s, rng)]
    for n in range(planted):
        k = rng.randrange(len(stems))
        copy = stems[k]
        for change in rng.sample(changes, rng.randint(1, 2)):
            copy = change(copy)
        original, qid = f"s{k}", f"p{n}"
        resolution = rng.choice(["none", "none", "none", "group", "distinct"])
        if resolution == "group":
            questions[original] = Q(original, stems[k], variant_group=f"g{k}",
                                    distinct_from=questions[original].distinct_from)
            questions[qid] = Q(qid, copy, variant_group=f"g{k}")
        else:
            questions[qid] = Q(qid, copy, distinct_from=(original,) if resolution == "distinct" else ())
    return questions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_findings_as_the_scan_of_all_pairs_with_planted_near_duplicates(course_stems, seed):
    questions = planted_bank(seed, course_stems)
    expected = scan_all_pairs(questions)
    planted_found = [d for d in expected if d.second.startswith("p")]
    assert len(planted_found) >= 60  # most planted copies score 72 or more
    assert near_duplicates(questions) == expected


def test_resolved_planted_pairs_are_left_out_and_found_once_the_resolution_goes(course_stems):
    questions = planted_bank(4, course_stems)
    resolved = {q.id for q in questions.values() if q.id.startswith("p") and (q.variant_group or q.distinct_from)}
    assert resolved
    found = near_duplicates(questions)
    unresolved = {qid: Q(q.id, q.stem) for qid, q in questions.items()}
    found_without = near_duplicates(unresolved)
    assert found_without == scan_all_pairs(unresolved)
    newly = {d.second for d in found_without} - {d.second for d in found}
    assert newly and newly <= resolved


def test_a_copy_with_words_in_other_forms_is_found():
    questions = {"a": Q("a", "Which platforms recruit victims for forced labour?"),
                 "b": Q("b", "Which platform recruits victim for forced labor?")}
    assert [(d.first, d.second) for d in near_duplicates(questions)] == [("a", "b")]


def test_banks_up_to_the_limit_are_scanned_pair_by_pair(course_stems, monkeypatch):
    monkeypatch.setattr(duplicates, "EXACT_UP_TO", len(course_stems))
    monkeypatch.setattr(duplicates, "candidate_pairs", lambda stems: pytest.fail("the filter was used"))
    questions = {f"q{i}": Q(f"q{i}", stem) for i, stem in enumerate(course_stems)}
    assert near_duplicates(questions) == scan_all_pairs(questions)
