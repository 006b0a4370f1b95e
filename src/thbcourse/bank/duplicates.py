"""Near-duplicate stems: two questions that ask the same thing must not both reach one paper.

Similarity of two stems is the mean of two rapidfuzz scores (0-100) on the normalised text (Markdown
marks removed, case folded, whitespace collapsed):

- `fuzz.ratio`, the normalised edit (Indel) similarity of the whole strings, which catches rewordings
  that keep the word order ("What is the name of Europol's secure network ..." vs "What is the name
  (acronym) of ...");
- `fuzz.token_set_ratio`, which ignores word order and extra words, and so catches a stem that
  repeats another with a clause added or moved.

THRESHOLD = 72 was set on the course's banks (265 questions, 34,980 pairs, December 2026): every pair
scoring 80 or more was the same question asked twice; between 72 and 80 the pairs were either the
same point reworded (the Europol-list questions asked once in two banks, the two "cooperation channel"
matchings) or stems built on one template ("Match each stage of the chain with ..."), which is what a
reviewer must decide; below 72 the highest-scoring pairs read alike but asked different things. So
the check reports every pair at 72 or more that is not already resolved, and an author resolves it:

- merge the two (delete one), or rewrite one so that it asks something else;
- put both in one `variant_group` (same point, other words: drawing never puts two on a paper);
- or declare the pair reviewed with `distinct_from: [other-id]` on either question.

Scoring every pair is quadratic: 0.05 s for the course, 35 s for 5,000 questions. Up to EXACT_UP_TO
questions every pair is scored (exact, and under 0.3 s); beyond, only the pairs that share enough
words are (`candidate_pairs`); see there why no exact filter prunes at this threshold and what shows
that this one finds every pair the scan of all pairs finds.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

import msgspec

THRESHOLD = 72.0
SHARED_WORDS = 1 / 4  # of the word keys of the stem with fewer: see candidate_pairs
KEY_LETTERS = 5  # a word is compared by its first letters: see candidate_pairs
EXACT_UP_TO = 600  # questions: below this many, every pair is scored
KEEP_RESULTS = 16  # results kept between runs (all banks, and each bank validated on its own)
_MARKUP = re.compile(r"[*_`>#|\[\]]")
_WORD = re.compile(r"\w+")


class NearDuplicate(msgspec.Struct, frozen=True):
    first: str  # question ids, in bank order
    second: str
    score: float


def normalise(stem: str) -> str:
    return " ".join(_MARKUP.sub(" ", stem).split()).casefold()


def similarity(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    a, b = normalise(a), normalise(b)
    return (fuzz.ratio(a, b) + fuzz.token_set_ratio(a, b)) / 2


def near_duplicates(questions: dict, threshold: float = THRESHOLD) -> list[NearDuplicate]:
    """Unresolved pairs of questions (id -> question, in bank order) whose stems score >= threshold,
    in bank order of the first question, then of the second."""
    from rapidfuzz import fuzz

    ids = list(questions)
    stems = [normalise(questions[q].stem) for q in ids]
    # The mean reaches the threshold only if fuzz.ratio reaches 2 * threshold - 100 (token_set_ratio
    # is at most 100), so the cheaper score screens each pair first, and token_set_ratio need only
    # be worked out exactly when it can lift the pair to the threshold (below its cut-off it gives 0).
    cutoff = max(0.0, 2 * threshold - 100)
    found = []
    for i, j, ratio in _screened(stems, cutoff):
        score = (ratio + fuzz.token_set_ratio(stems[i], stems[j], score_cutoff=2 * threshold - ratio)) / 2
        a, b = questions[ids[i]], questions[ids[j]]
        if score >= threshold and not _resolved(a, b):
            found.append(NearDuplicate(a.id, b.id, round(score, 1)))
    return found


def _screened(stems: list[str], cutoff: float) -> list[tuple[int, int, float]]:
    """(i, j, fuzz.ratio) of the pairs i < j, in order, whose fuzz.ratio reaches `cutoff`: every pair
    up to EXACT_UP_TO stems (rapidfuzz compares one stem with all later ones in C), the candidate
    pairs beyond."""
    from rapidfuzz import fuzz, process

    if len(stems) > EXACT_UP_TO:
        pairs = ((i, j, fuzz.ratio(stems[i], stems[j], score_cutoff=cutoff)) for i, j in candidate_pairs(stems))
        return [(i, j, ratio) for i, j, ratio in pairs if ratio >= cutoff]
    screened = []
    for i, stem in enumerate(stems[:-1]):
        later = process.extract(stem, stems[i + 1:], scorer=fuzz.ratio, processor=None, score_cutoff=cutoff,
                                limit=None)
        screened += sorted((i, i + 1 + k, ratio) for _, ratio, k in later)
    return screened


def kept_near_duplicates(questions: dict, file: Path | None) -> list[NearDuplicate]:
    """`near_duplicates(questions)`, kept in `file` (JSON) between runs of the command line under a
    digest of everything the result depends on: each question's id, stem, variant group and
    distinct_from, in order, the settings above, and the code that scores (this module and rapidfuzz,
    by size and modification time: thbcourse.kept.code_digest). A kept result does not
    even import rapidfuzz. Without a file (or one that cannot be read or written), the pairs are
    scored as usual."""
    if file is None:
        return near_duplicates(questions)
    import json

    from thbcourse.kept import code_digest, digest, read_kept, write_kept

    key = digest(
        f"{THRESHOLD}|{SHARED_WORDS}|{KEY_LETTERS}|{EXACT_UP_TO}".encode(),
        code_digest(__name__, "rapidfuzz").encode(),
        *(json.dumps([q.id, q.stem, q.variant_group, q.distinct_from]).encode() for q in questions.values()))
    kept = read_kept(file)
    results = kept.get("results") if isinstance(kept.get("results"), dict) else {}
    found = results.get(key)
    if isinstance(found, list) and all(isinstance(row, list) and len(row) == 3 for row in found):
        return [NearDuplicate(*row) for row in found]
    found = near_duplicates(questions)
    results = {k: v for k, v in list(results.items())[-(KEEP_RESULTS - 1):]}  # the newest ones
    results[key] = [[d.first, d.second, d.score] for d in found]
    write_kept(file, {"results": results})
    return found


def word_keys(stem: str) -> frozenset[str]:
    """The words of a normalised stem, each cut to its first KEY_LETTERS letters, so that a plural,
    another tense or a slip near the end of a word still counts as the same word. A stem with no
    word at all (punctuation only) is its own key."""
    return frozenset(w[:KEY_LETTERS] for w in _WORD.findall(stem)) or frozenset([stem])


def candidate_pairs(stems: list[str]) -> list[tuple[int, int]]:
    """The pairs (i < j, sorted) of normalised stems worth scoring: those where at least SHARED_WORDS
    of the word keys of the stem with fewer keys are keys of the other too.

    Why no exact filter. A pair reaches 72 when the two scores add up to 144, and either may be as
    low as 44: token_set_ratio is 100 whenever one stem's words are all in the other, however long
    the other is, and then fuzz.ratio need only be 44. Unrelated stems already score 40 to 60 on each,
    in English as in the generated banks' made-up words, because the Indel similarity of two texts
    over one alphabet is high. The bounds that are cheaper than the scores (lengths, counts of each
    character, q-grams shared by the q-gram lemma) are looser still: the character-count bound on
    fuzz.ratio alone is 72 or more for 40 % of the course's pairs and 82 % of the generated ones. And
    scoring every pair in C (rapidfuzz.process.cdist, both cores) takes 2.4 s for fuzz.ratio alone at
    5,000 stems, seven times the whole validation.

    Why this filter. Both scores compare the stems' words, in order or as sets, so a pair at 72 shares
    most of its words, give or take their endings and slips: on the course's banks every pair scoring
    72 or more shares at least 58 % of the smaller stem's word keys and every pair scoring 60 or more
    35 %, so a quarter leaves a wide margin. tests/test_duplicates.py checks that this finds exactly
    what the scan of all pairs finds on the course's banks (at 72 and at 60) and on banks with
    reworded, reordered and mistyped copies of real and made-up stems. What it would miss is a pair
    that scores 72 with three quarters of its words changed in their first letters, which an author
    would hardly call a copy. It costs the pairs that share words, not all pairs.

    How. A stem with k keys needs m = ceil(SHARED_WORDS * k) of them in the other, so any k - m + 1 of
    its keys include one of those (prefix filtering): it looks up its k - m + 1 rarest keys, which
    skips the words most stems hold, and counts the shared keys of what it finds. A pair is found
    from the stem with fewer keys (ties: the earlier one), the one the rule measures.
    """
    keys = [word_keys(stem) for stem in stems]
    holders: dict[str, list[int]] = defaultdict(list)
    for i, own in enumerate(keys):
        for key in own:
            holders[key].append(i)
    pairs = []
    for i, own in enumerate(keys):
        need = math.ceil(SHARED_WORDS * len(own))
        rarest = sorted(own, key=lambda key: len(holders[key]))[:len(own) - need + 1]
        others = {j for key in rarest for j in holders[key]}
        pairs += [(min(i, j), max(i, j)) for j in others
                  if (len(keys[j]), j) > (len(own), i) and len(own & keys[j]) >= need]
    return sorted(pairs)


def _resolved(a, b) -> bool:
    same_group = a.variant_group is not None and a.variant_group == b.variant_group
    return same_group or b.id in a.distinct_from or a.id in b.distinct_from
