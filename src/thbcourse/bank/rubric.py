"""The rubric format: how an assessed practical task is marked (quizzes/rubrics/*.yml).

A rubric has criteria; each criterion tests one learning objective and has levels, each with the points
it gives and a descriptor a marker can observe. A learner's marks are recorded in the gradebook as an
attempt on the rubric (one response per criterion), so rubric scores appear in `scores export` and in
the per-topic and per-objective breakdowns exactly like quiz scores.
"""

from typing import Annotated

from msgspec import Meta

from thbcourse.bank.model import Identifier, ObjectiveId, Topic
from thbcourse.bank.strict import NonEmpty, Strict


class Level(Strict, kw_only=True):
    points: Annotated[float, Meta(ge=0, le=100)]
    label: Annotated[NonEmpty, Meta(description="A short name a marker can type instead of the points (e.g. 'Partly').")]
    descriptor: Annotated[NonEmpty, Meta(description="What an answer at this level shows, in observable terms.")]


class Criterion(Strict, kw_only=True):
    id: Identifier
    title: NonEmpty
    objective: ObjectiveId
    levels: Annotated[list[Level], Meta(min_length=2, description="From the lowest to the highest.")]

    @property
    def max_points(self) -> float:
        return max(level.points for level in self.levels)

    def level(self, value: str) -> Level | None:
        """The level a marker means by `value`: its label (any case) or its points."""
        wanted = " ".join(value.split()).casefold()
        for level in self.levels:
            if level.label.casefold() == wanted:
                return level
        try:
            points = float(wanted.replace(",", "."))
        except ValueError:
            return None
        return next((level for level in self.levels if level.points == points), None)


class Rubric(Strict, kw_only=True):
    id: Annotated[Identifier, Meta(
        description="Also the gradebook's quiz id for the task; unique among rubrics and blueprints.")]
    title: NonEmpty
    exercise: Annotated[str, Meta(pattern=r"^exercises/[A-Za-z0-9._-]+\.md$",
                                  description="The exercise page that sets the task.")]
    topic: Topic
    pass_mark: Annotated[float, Meta(ge=0, le=100, description="Percent of the maximum needed to pass.")] = 60.0
    criteria: Annotated[list[Criterion], Meta(min_length=1)]

    @property
    def max_points(self) -> float:
        return sum(c.max_points for c in self.criteria)

    def __post_init__(self) -> None:
        super().__post_init__()
        for criterion in self.criteria:
            points = [level.points for level in criterion.levels]
            if points != sorted(set(points)):
                raise ValueError(f"criterion {criterion.id!r}: levels must go from the fewest to the most points, "
                                 f"each with different points (found {points})")
            labels = [level.label.casefold() for level in criterion.levels]
            if len(set(labels)) != len(labels):
                raise ValueError(f"criterion {criterion.id!r}: two levels have the same label")
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError("two criteria have the same id")
