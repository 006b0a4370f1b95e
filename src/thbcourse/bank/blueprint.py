"""The blueprint format: how a quiz is drawn from the banks."""

from typing import Annotated, Literal

from msgspec import Meta, field

from thbcourse.bank.model import QUESTION_TYPES, Identifier, ObjectiveId, Topic
from thbcourse.bank.strict import NonEmpty, Strict

QuestionType = Literal[QUESTION_TYPES]  # type: ignore[valid-type]


class Section(Strict, kw_only=True):
    """Draw `count` questions from the questions that pass every filter given."""

    title: NonEmpty
    count: Annotated[int, Meta(ge=1, le=500)]
    banks: Annotated[list[Identifier], Meta(description="Bank ids; empty means every bank.")] = []
    topics: list[Topic] = []
    difficulty: list[Literal[1, 2, 3]] = []
    objectives: list[ObjectiveId] = []
    types: list[QuestionType] = []
    questions: Annotated[list[Identifier], Meta(description="Explicit question ids to draw from.")] = []
    points: Annotated[Annotated[float, Meta(gt=0, le=100)] | None, Meta(
        description="Overrides each question's points.")] = None


class Grading(Strict, kw_only=True):
    partial_credit: Annotated[bool, Meta(description="False: every question is all or nothing.")] = True
    negative_marking: Annotated[bool, Meta(
        description="Multiple-response: each wrong option chosen subtracts 1/(number of wrong options).")] = True


class Covers(Strict, kw_only=True):
    """Objectives that every paper must test at least once (checked for every seed by `validate`)."""

    objectives: list[ObjectiveId] = []
    topics: Annotated[list[Topic], Meta(
        description="Every objective that a question of these topics tests.")] = []


class Blueprint(Strict, kw_only=True):
    id: Identifier
    title: NonEmpty
    purpose: Literal["self-check", "practice", "pre-test", "post-test", "exam"] = "practice"
    chapter: Annotated[str | None, Meta(description="For a self-check: the chapter page, book/<file>.md.")] = None
    pass_mark: Annotated[float, Meta(ge=0, le=100, description="Percent of the maximum needed to pass.")] = 70.0
    time_limit: Annotated[Annotated[int, Meta(ge=1, le=600)] | None, Meta(description="Minutes.")] = None
    shuffle_questions: bool = True
    shuffle_options: bool = True
    exclude: Annotated[list[Identifier], Meta(
        description="Blueprint ids: no question that those blueprints can draw is drawn here.")] = []
    grading: Grading = field(default_factory=Grading)
    covers: Annotated[Covers, Meta(
        description="Objectives every paper must include; the sections' counts must allow it.")] = field(
        default_factory=Covers)
    sections: Annotated[list[Section], Meta(min_length=1)]
