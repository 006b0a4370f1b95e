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
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

THRESHOLD = 72.0
_MARKUP = re.compile(r"[*_`>#|\[\]]")


@dataclass(frozen=True)
class NearDuplicate:
    first: str  # question ids, in bank order
    second: str
    score: float


def normalise(stem: str) -> str:
    return " ".join(_MARKUP.sub(" ", stem).split()).casefold()


def similarity(a: str, b: str) -> float:
    a, b = normalise(a), normalise(b)
    return (fuzz.ratio(a, b) + fuzz.token_set_ratio(a, b)) / 2


def near_duplicates(questions: dict, threshold: float = THRESHOLD) -> list[NearDuplicate]:
    """Unresolved pairs of questions (id -> question, in bank order) whose stems score >= threshold."""
    ids = list(questions)
    stems = [normalise(questions[q].stem) for q in ids]
    found = []
    # The mean reaches the threshold only if fuzz.ratio reaches 2 * threshold - 100 (token_set_ratio
    # is at most 100), so rapidfuzz's C loop screens the pairs with that cut-off first.
    cutoff = max(0.0, 2 * threshold - 100)
    for i, stem in enumerate(stems):
        later = stems[i + 1:]
        for _, ratio, j in process.extract(stem, later, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None):
            score = (ratio + fuzz.token_set_ratio(stem, later[j])) / 2
            a, b = ids[i], ids[i + 1 + j]
            if score >= threshold and not _resolved(questions[a], questions[b]):
                found.append(NearDuplicate(a, b, round(score, 1)))
    return found


def _resolved(a, b) -> bool:
    same_group = a.variant_group is not None and a.variant_group == b.variant_group
    return same_group or b.id in a.distinct_from or a.id in b.distinct_from
