"""The blueprint format: how a quiz is drawn from the banks."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from thbcourse.bank.model import QUESTION_TYPES, Identifier, NonEmpty, ObjectiveId, Strict, Topic

QuestionType = Literal[QUESTION_TYPES]  # type: ignore[valid-type]


class Section(Strict):
    """Draw `count` questions from the questions that pass every filter given."""

    title: NonEmpty
    count: int = Field(ge=1, le=500)
    banks: list[Identifier] = Field([], description="Bank ids; empty means every bank.")
    topics: list[Topic] = []
    difficulty: list[Literal[1, 2, 3]] = []
    objectives: list[ObjectiveId] = []
    types: list[QuestionType] = []
    questions: list[Identifier] = Field([], description="Explicit question ids to draw from.")
    points: float | None = Field(None, gt=0, le=100, description="Overrides each question's points.")


class Grading(Strict):
    partial_credit: bool = Field(True, description="False: every question is all or nothing.")
    negative_marking: bool = Field(
        True, description="Multiple-response: each wrong option chosen subtracts 1/(number of wrong options)."
    )


class Covers(Strict):
    """Objectives that every paper must test at least once (checked for every seed by `validate`)."""

    objectives: list[ObjectiveId] = []
    topics: list[Topic] = Field([], description="Every objective that a question of these topics tests.")


class Blueprint(Strict):
    id: Identifier
    title: NonEmpty
    purpose: Literal["self-check", "practice", "pre-test", "post-test", "exam"] = "practice"
    chapter: str | None = Field(None, description="For a self-check: the chapter page, book/<file>.md.")
    pass_mark: float = Field(70.0, ge=0, le=100, description="Percent of the maximum needed to pass.")
    time_limit: int | None = Field(None, ge=1, le=600, description="Minutes.")
    shuffle_questions: bool = True
    shuffle_options: bool = True
    exclude: list[Identifier] = Field(
        [], description="Blueprint ids: no question that those blueprints can draw is drawn here."
    )
    grading: Grading = Grading()
    covers: Covers = Field(Covers(), description="Objectives every paper must include; the sections' counts must allow it.")
    sections: list[Section] = Field(min_length=1)
