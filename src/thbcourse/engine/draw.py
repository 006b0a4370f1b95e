"""Drawing papers from blueprints: reproducible, exact counts, no question twice.

A paper is fully determined by (blueprint, seed): the same pair always gives the same questions in
the same order with the same option order, so a paper never needs to be stored to be re-graded.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from thbcourse.bank.blueprint import Blueprint, Section
from thbcourse.bank.model import Question


class DrawError(Exception):
    """The banks cannot supply what a blueprint asks for."""


@dataclass(frozen=True)
class PaperItem:
    number: int  # 1-based position on the paper
    section: str
    question: Question
    points: float
    # Display order, as indexes into the question's canonical lists: options (single/multiple),
    # right-hand items = pair rights then distractors (matching), items (ordering). Empty otherwise.
    order: tuple[int, ...] = ()


@dataclass(frozen=True)
class Paper:
    blueprint: Blueprint
    seed: int
    items: tuple[PaperItem, ...]

    @property
    def max_score(self) -> float:
        return sum(item.points for item in self.items)


def section_pool(course, section: Section) -> list[str]:
    """Ids of the questions a section may draw, in a stable order."""
    banks, topics = set(section.banks), {t.value for t in section.topics}
    wanted = set(section.questions)
    pool = []
    for qid, q in course.questions.items():
        if banks and course.bank_of[qid] not in banks:
            continue
        if topics and q.topic.value not in topics:
            continue
        if section.difficulty and q.difficulty not in section.difficulty:
            continue
        if section.objectives and q.objective not in section.objectives:
            continue
        if section.types and q.type not in section.types:
            continue
        if wanted and qid not in wanted:
            continue
        pool.append(qid)
    return sorted(pool)


def _excluded(course, blueprint: Blueprint) -> set[str]:
    out: set[str] = set()
    for other in blueprint.exclude:
        if other in course.blueprints:
            for section in course.blueprints[other].sections:
                out.update(section_pool(course, section))
    return out


def _pools(course, blueprint: Blueprint) -> list[tuple[int, list[str]]]:
    """(section index, pool) in drawing order: the most constrained section draws first."""
    excluded = _excluded(course, blueprint)
    pools = [(i, [q for q in section_pool(course, s) if q not in excluded]) for i, s in enumerate(blueprint.sections)]
    return sorted(pools, key=lambda ip: (len(ip[1]) - blueprint.sections[ip[0]].count, ip[0]))


def blueprint_problems(course, blueprint: Blueprint) -> Iterator[tuple[tuple, str]]:
    """What would stop this blueprint from drawing for some seed (checked by `thbcourse validate`)."""
    for i, other in enumerate(blueprint.exclude):
        if other not in course.blueprints:
            yield ("exclude", i), f"no blueprint {other!r} to exclude"
    for s_index, section in enumerate(blueprint.sections):
        for field in ("banks", "questions", "objectives"):
            known = {"banks": course.banks, "questions": course.questions}.get(field)
            if known is None:
                continue
            for i, value in enumerate(getattr(section, field)):
                if value not in known:
                    yield ("sections", s_index, field, i), f"no {field[:-1]} {value!r} in the banks"
    taken: list[tuple[int, set[str]]] = []  # worst case: every earlier section took from this pool
    for s_index, pool in _pools(course, blueprint):
        section = blueprint.sections[s_index]
        pool_set = set(pool)
        lost = sum(min(blueprint.sections[j].count, len(t & pool_set)) for j, t in taken)
        if len(pool) - lost < section.count:
            yield ("sections", s_index, "count"), _too_small(section, len(pool), lost)
        taken.append((s_index, pool_set))


def _too_small(section: Section, size: int, lost: int) -> str:
    shared = f", and other sections may take {lost} of them" if lost else ""
    return (f"section {section.title!r} asks for {section.count} questions but only {size} match its filters"
            f"{shared}; add questions or lower the count")


def draw(course, blueprint: Blueprint, seed: int) -> Paper:
    rng = random.Random(f"{blueprint.id}:{seed}")
    chosen: set[str] = set()
    picked: dict[int, list[str]] = {}
    for s_index, pool in _pools(course, blueprint):
        section = blueprint.sections[s_index]
        available = [q for q in pool if q not in chosen]
        if len(available) < section.count:
            raise DrawError(f"blueprint {blueprint.id!r}: " + _too_small(section, len(pool), len(pool) - len(available)))
        picked[s_index] = rng.sample(available, section.count)
        chosen.update(picked[s_index])
    drawn = [(s_index, qid) for s_index in range(len(blueprint.sections)) for qid in picked[s_index]]
    if blueprint.shuffle_questions:
        rng.shuffle(drawn)
    items = []
    for number, (s_index, qid) in enumerate(drawn, 1):
        section, question = blueprint.sections[s_index], course.questions[qid]
        items.append(PaperItem(number, section.title, question, section.points or question.points,
                               _display_order(question, blueprint.shuffle_options, rng)))
    return Paper(blueprint, seed, tuple(items))


def _display_order(q: Question, shuffle: bool, rng: random.Random) -> tuple[int, ...]:
    if q.type in ("single", "multiple"):
        return _shuffled(len(q.options), rng) if shuffle else tuple(range(len(q.options)))
    if q.type == "matching":  # right-hand items in bank order would line up with the left ones
        return _shuffled(len(q.pairs) + len(q.distractors), rng, avoid_key=not q.distractors)
    if q.type == "ordering":  # items in bank order would be the key
        return _shuffled(len(q.items), rng, avoid_key=True)
    return ()


def _shuffled(n: int, rng: random.Random, avoid_key: bool = False) -> tuple[int, ...]:
    """A uniform permutation; with avoid_key, never the key order when n >= 3.

    With two items a rule "never the key order" would itself give the key away, so two items are
    shuffled uniformly.
    """
    order = list(range(n))
    rng.shuffle(order)
    while avoid_key and n >= 3 and order == sorted(order):
        rng.shuffle(order)
    return tuple(order)
