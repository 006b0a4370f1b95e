"""Drawing papers from blueprints: reproducible, exact counts, no question twice.

A paper is fully determined by (blueprint, seed): the same pair always gives the same questions in
the same order with the same option order, so a paper never needs to be stored to be re-graded.

Two rules shape every paper besides the sections' filters and counts:

- **Variant groups**: questions with the same `variant_group` ask the same thing in other words, so a
  paper holds at most one of them. Drawing samples *units* (a group, or a question in no group) and
  then one member of each unit drawn.
- **Covered objectives** (`covers` in the blueprint): every paper tests each listed objective at least
  once. Before the sections are filled, each required objective gets a slot in a section whose pool
  holds a question for it: a bipartite matching of objectives to section slots (Kuhn's augmenting
  paths, tried in a seeded random order, so papers vary). A matching exists for every seed or for
  none, and `blueprint_problems` (run by `thbcourse validate`) checks that it exists and that every
  section can still be filled whatever the other sections took, so a validated blueprint never fails
  to draw.

A third rule keeps assessment apart from self-study: a question marked `reserved: true` is drawn only
by blueprints whose purpose is exam or post-test (`ASSESSMENT`), and those draw only reserved
questions. Self-check, practice and pre-test blueprints draw only unreserved ones: the pre-test is sat
before the course and its questions may be discussed afterwards, so it never uses up an assessment
question, and it can never share a question with the post-test. `blueprint_problems` reports an
explicit `questions:` entry on the wrong side, and sizes every section by the questions its blueprint
may draw, so a validated course draws on both sides.
"""
from __future__ import annotations

import random
from collections.abc import Iterator

import msgspec

from thbcourse.bank.blueprint import Blueprint, Section
from thbcourse.bank.model import Question

ASSESSMENT = ("exam", "post-test")  # purposes that draw the reserved questions, and only those


def draws_reserved(blueprint: Blueprint) -> bool:
    """True when the blueprint draws only reserved questions (exam, post-test); False when it never does."""
    return blueprint.purpose in ASSESSMENT


class DrawError(Exception):
    """The banks cannot supply what a blueprint asks for."""


class PaperItem(msgspec.Struct, frozen=True):
    number: int  # 1-based position on the paper
    section: str
    question: Question
    points: float
    # Display order, as indexes into the question's canonical lists: options (single/multiple),
    # right-hand items = pair rights then distractors (matching), items (ordering). Empty otherwise.
    order: tuple[int, ...] = ()


class Paper(msgspec.Struct, frozen=True, weakref=True):  # weakref: attempt.py drops its plan with it
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


def blueprint_pool(course, blueprint: Blueprint, section: Section) -> list[str]:
    """The section's pool as this blueprint may draw it: only the reserved questions for an exam or
    post-test, only the unreserved ones for any other purpose (before `exclude`)."""
    reserved = draws_reserved(blueprint)
    return [q for q in section_pool(course, section) if course.questions[q].reserved == reserved]


def unit_of(question: Question) -> str:
    """The drawing unit: a question's variant group, or the question itself."""
    return f"group:{question.variant_group}" if question.variant_group else question.id


def covered_objectives(course, blueprint: Blueprint) -> list[str]:
    """The objectives every paper of this blueprint must test, sorted."""
    wanted = set(blueprint.covers.objectives)
    topics = {t.value for t in blueprint.covers.topics}
    if topics:
        wanted |= {q.objective for q in course.questions.values() if q.topic.value in topics}
    return sorted(wanted)


def objective_reach(course, blueprint: Blueprint) -> dict[str, str]:
    """Objective -> "every" (on every paper: `covers`) or "some" (some papers can test it)."""
    reach = {course.questions[q].objective: "some" for _, pool in _pools(course, blueprint) for q in pool}
    reach.update((objective, "every") for objective in covered_objectives(course, blueprint))
    return reach


def _excluded(course, blueprint: Blueprint) -> set[str]:
    out: set[str] = set()
    for other in blueprint.exclude:
        if other in course.blueprints:
            other_bp = course.blueprints[other]
            for section in other_bp.sections:
                out.update(blueprint_pool(course, other_bp, section))
    return out


def _pools(course, blueprint: Blueprint) -> list[tuple[int, list[str]]]:
    """(section index, pool) in drawing order: the most constrained section draws first."""
    excluded = _excluded(course, blueprint)
    pools = [(i, [q for q in blueprint_pool(course, blueprint, s) if q not in excluded])
             for i, s in enumerate(blueprint.sections)]
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
                elif field == "questions" and course.questions[value].reserved != draws_reserved(blueprint):
                    yield ("sections", s_index, field, i), _misplaced(course, blueprint, value)
    named = {q.objective for q in course.questions.values()}
    for i, objective in enumerate(blueprint.covers.objectives):
        if objective not in named:
            yield ("covers", "objectives", i), f"no question in the banks tests objective {objective!r}"
    pools = _pools(course, blueprint)
    required = covered_objectives(course, blueprint)
    # Worst case for a section: every other section took, from the units they share with it, as many
    # as they draw. Without `covers` the sections draw in a fixed order, so only earlier sections count;
    # with it, the covering picks may land in any section first.
    taken: list[tuple[int, set[str]]] = []
    units = {s_index: {unit_of(course.questions[q]) for q in pool} for s_index, pool in pools}
    for s_index, pool in pools:
        section = blueprint.sections[s_index]
        others = [(j, units[j]) for j, _ in pools if j != s_index] if required else taken
        lost = sum(min(blueprint.sections[j].count, len(u & units[s_index])) for j, u in others)
        if len(units[s_index]) - lost < section.count:
            yield ("sections", s_index, "count"), (_too_small(section, len(pool), lost, len(units[s_index]))
                                                   + _side(blueprint))
        taken.append((s_index, units[s_index]))
    if required:
        unplaced = _match_objectives(course, blueprint, pools, required, random.Random(0))[1]
        if unplaced:
            yield ("covers",), _cannot_cover(course, blueprint, pools, unplaced)


def _match_objectives(course, blueprint: Blueprint, pools, required: list[str],
                      rng: random.Random) -> tuple[dict[str, int], list[str]]:
    """Give each required objective a slot in a section whose pool tests it: (objective -> section
    index, objectives left without a slot). Kuhn's algorithm on slots, in a seeded random order.

    Whether every objective finds a slot does not depend on the order (a maximum matching has the same
    size whichever augmenting paths are found), so one check in `validate` holds for every seed."""
    sections_for: dict[str, list[int]] = {o: [] for o in required}
    for s_index, pool in pools:
        for objective in {course.questions[q].objective for q in pool} & sections_for.keys():
            sections_for[objective].append(s_index)
    room = {s_index: blueprint.sections[s_index].count for s_index, _ in pools}
    holders: dict[int, list[str]] = {s_index: [] for s_index, _ in pools}
    placed: dict[str, int] = {}

    def place(objective: str, seen: set[int]) -> bool:
        candidates = sections_for[objective][:]
        rng.shuffle(candidates)
        for s_index in candidates:
            if s_index in seen:
                continue
            seen.add(s_index)
            if len(holders[s_index]) < room[s_index]:
                holders[s_index].append(objective)
                placed[objective] = s_index
                return True
            for other in holders[s_index][:]:
                if place(other, seen):  # move `other` elsewhere and take its slot
                    holders[s_index].remove(other)
                    holders[s_index].append(objective)
                    placed[objective] = s_index
                    return True
        return False

    order = required[:]
    rng.shuffle(order)
    unplaced = [o for o in order if not place(o, set())]
    return placed, sorted(unplaced)


def _cannot_cover(course, blueprint: Blueprint, pools, unplaced: list[str]) -> str:
    drawable = {course.questions[q].objective for _, pool in pools for q in pool}
    missing = [o for o in unplaced if o not in drawable]
    if missing:
        return (f"covers: no section can draw a question for {', '.join(missing)} (check the sections' filters "
                f"and 'exclude'){_side(blueprint)}; add such questions or widen a section")
    return (f"covers: the sections have too few places to test every required objective on each paper "
            f"({', '.join(unplaced)} found no place once the others were placed); raise the counts of the "
            f"sections that can draw them, or cover fewer objectives")


def _misplaced(course, blueprint: Blueprint, qid: str) -> str:
    path, line = course.where.get(qid, ("?", 0))
    if draws_reserved(blueprint):
        return (f"{qid} ({path}:{line}) is not reserved, but {_a(blueprint.purpose)} blueprint draws only questions "
                f"marked 'reserved: true'; mark it reserved (then no self-check or practice quiz draws it) or "
                f"name a reserved question")
    return (f"{qid} ({path}:{line}) is reserved for assessment ('reserved: true'), so {_a(blueprint.purpose)} "
            f"blueprint never draws it; name an unreserved question, or remove 'reserved' from it")


def _side(blueprint: Blueprint) -> str:
    """What the reserved rule leaves a blueprint of this purpose (said when it is short of questions)."""
    if draws_reserved(blueprint):
        return f" ({_a(blueprint.purpose)} blueprint draws only questions marked 'reserved: true')"
    return (f" ({_a(blueprint.purpose)} blueprint never draws a question marked 'reserved: true': those are kept "
            f"for exam and post-test blueprints)")


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _too_small(section: Section, size: int, lost: int, units: int | None = None) -> str:
    shared = f", and other sections may take {lost} of them" if lost else ""
    grouped = (f" ({units} once the questions of each variant group count as one)"
               if units is not None and units != size else "")
    return (f"section {section.title!r} asks for {section.count} questions but only {size} match its filters"
            f"{grouped}{shared}; add questions or lower the count")


def draw(course, blueprint: Blueprint, seed: int) -> Paper:
    rng = random.Random(f"{blueprint.id}:{seed}")
    pools = _pools(course, blueprint)
    chosen: set[str] = set()
    used: set[str] = set()  # drawing units (variant groups, ungrouped questions) already on the paper
    picked: dict[int, list[str]] = {s_index: [] for s_index, _ in pools}

    def take(s_index: int, qid: str) -> None:
        picked[s_index].append(qid)
        chosen.add(qid)
        used.add(unit_of(course.questions[qid]))

    required = covered_objectives(course, blueprint)
    if required:
        placed, unplaced = _match_objectives(course, blueprint, pools, required, rng)
        if unplaced:
            raise DrawError(f"blueprint {blueprint.id!r}: " + _cannot_cover(course, blueprint, pools, unplaced))
        pool_of = dict(pools)
        for objective in sorted(placed):
            s_index = placed[objective]
            fits = [q for q in pool_of[s_index] if course.questions[q].objective == objective
                    and q not in chosen and unit_of(course.questions[q]) not in used]
            take(s_index, rng.choice(fits))
    for s_index, pool in pools:
        section = blueprint.sections[s_index]
        need = section.count - len(picked[s_index])
        available = [q for q in pool if q not in chosen and unit_of(course.questions[q]) not in used]
        members: dict[str, list[str]] = {}
        for q in available:
            members.setdefault(unit_of(course.questions[q]), []).append(q)
        if len(members) < need:
            raise DrawError(f"blueprint {blueprint.id!r}: " + _too_small(section, len(pool), len(pool) - len(available)))
        if len(members) == len(available):  # no variant group in play: one draw, as before groups existed
            for qid in rng.sample(available, need):
                take(s_index, qid)
        else:
            for unit in rng.sample(sorted(members), need):
                take(s_index, rng.choice(members[unit]))
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
