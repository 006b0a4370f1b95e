"""Synthetic banks and responses for the benchmarks (content is filler; structure is realistic)."""
from __future__ import annotations

import random
from pathlib import Path

import yaml

TYPES = ("single", "multiple", "true_false", "matching", "ordering", "short_answer", "numeric")


def question(i: int, rng: random.Random) -> dict:
    kind = TYPES[i % len(TYPES)]
    q = {"id": f"gen-{i:05d}", "type": kind, "difficulty": rng.choice([1, 2, 3]),
         "objective": f"gen.objective-{i % 40}", "source": f"book/gen-{i % 8}.md#section-{i % 5}",
         "stem": f"Synthetic question {i}: which statement about stage {i % 5} is right?",
         "feedback": "The explanation a learner sees after answering, one or two sentences long."}
    if kind in ("single", "multiple"):
        keys = {0} if kind == "single" else {0, 2}
        q["options"] = [{"text": f"Option {n} of question {i}", "correct": n in keys,
                         "feedback": f"Why option {n} is {'right' if n in keys else 'wrong'}."} for n in range(4)]
    elif kind == "true_false":
        q.update(answer=bool(i % 2), feedback_true="Because.", feedback_false="Because not.")
    elif kind == "matching":
        q["pairs"] = [{"left": f"Term {n}", "right": f"Definition {n} of {i}"} for n in range(4)]
        q["distractors"] = [f"Unused definition of {i}"]
    elif kind == "ordering":
        q["items"] = [f"Stage {n}" for n in range(5)]
    elif kind == "short_answer":
        q.update(answers=[f"term{i}", f"term {i}"], patterns=[rf"term[- ]?{i}"])
    else:
        q.update(value=float(i % 100), tolerance=0.5)
    return q


def write_banks(directory: Path, total: int, per_file: int = 500, seed: int = 0) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for f in range(0, total, per_file):
        bank = {"id": f"gen-bank-{f // per_file}", "title": "Generated bank", "topic": "chain",
                "questions": [question(i, rng) for i in range(f, min(total, f + per_file))]}
        path = directory / f"gen-{f // per_file:03d}.yml"
        path.write_text(yaml.safe_dump(bank, sort_keys=False, allow_unicode=True), encoding="utf-8")
        paths.append(path)
    return paths


def response(q, rng: random.Random):
    """A random response of the right shape for question q (canonical form)."""
    kind = q.type
    if kind == "single":
        return rng.randrange(len(q.options))
    if kind == "multiple":
        return frozenset(i for i in range(len(q.options)) if rng.random() < 0.5)
    if kind == "true_false":
        return rng.random() < 0.5
    if kind == "matching":
        n_right = len(q.pairs) + len(q.distractors)
        return {i: rng.randrange(n_right) for i in range(len(q.pairs))}
    if kind == "ordering":
        order = list(range(len(q.items)))
        rng.shuffle(order)
        return order
    if kind == "short_answer":
        return rng.choice([q.answers[0], "wrong answer", q.answers[-1].upper()])
    return q.value + rng.choice([0.0, 0.4, 3.0])
