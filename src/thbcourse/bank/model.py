"""The bank format: what a question bank file may contain.

This model is the single definition of the format. Validation, the JSON Schema that authors' editors
use (`thbcourse schema`), drawing and grading all read it, so none of them can drift from the others.
"""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)]
ObjectiveId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")]
SourceRef = Annotated[
    str,
    StringConstraints(pattern=r"^book/[A-Za-z0-9._/-]+\.md#[a-z0-9][a-z0-9_-]*$"),
    Field(description="The book section that teaches the point: book/<file>.md#<heading-anchor>."),
]


class Topic(str, Enum):
    """The course's topics; every question belongs to one."""

    course = "course"
    legal_frame = "legal-frame"
    chain = "chain"
    modi_operandi = "modi-operandi"
    fraud = "fraud"
    opportunities = "opportunities"
    challenges = "challenges"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Option(Strict):
    text: NonEmpty
    correct: bool = False
    feedback: str = Field("", description="Why this option is right or wrong; shown when it is chosen.")


class Pair(Strict):
    left: NonEmpty
    right: NonEmpty
    feedback: str = Field("", description="Shown when this pair is matched wrongly.")


class QuestionBase(Strict):
    id: Identifier = Field(description="Unique across all banks; never reuse the id of a retired question.")
    topic: Topic | None = Field(None, description="Defaults to the bank's topic.")
    difficulty: Literal[1, 2, 3] = Field(description="1 easy, 2 medium, 3 hard.")
    objective: ObjectiveId = Field(description="A learning-objective id declared in a chapter.")
    source: SourceRef
    points: float = Field(1.0, gt=0, le=100)
    stem: NonEmpty = Field(description="The question, in Markdown.")
    feedback: NonEmpty = Field(description="The explanation shown after answering, whatever the answer.")
    variant_group: Identifier | None = Field(
        None, description="Questions that test the same point in other words; a paper never holds two of one "
                          "group. Every member must have the same objective.")
    distinct_from: list[Identifier] = Field(
        [], description="Questions whose stems read alike but that test a different point (a reviewed pair): "
                        "the near-duplicate check leaves the pair alone and both may share a paper.")
    reserved: bool = Field(
        False, description="For assessment: drawn only by blueprints whose purpose is exam or post-test, which in "
                           "turn draw only reserved questions. Self-check, practice and pre-test blueprints never "
                           "draw it, so its key is never shown in self-study.")


class Single(QuestionBase):
    """One correct option."""

    type: Literal["single"]
    options: list[Option] = Field(min_length=2)


class Multiple(QuestionBase):
    """Several correct options; partial credit."""

    type: Literal["multiple"]
    options: list[Option] = Field(min_length=2)


class TrueFalse(QuestionBase):
    type: Literal["true_false"]
    answer: bool
    feedback_true: str = Field("", description="Shown to a learner who answered 'true'.")
    feedback_false: str = Field("", description="Shown to a learner who answered 'false'.")


class Matching(QuestionBase):
    """Match each left item with its right item; distractors are extra right-hand items."""

    type: Literal["matching"]
    pairs: list[Pair] = Field(min_length=2)
    distractors: list[NonEmpty] = []


class Ordering(QuestionBase):
    """Put the items in order; `items` lists them in the correct order."""

    type: Literal["ordering"]
    items: list[NonEmpty]


class ShortAnswer(QuestionBase):
    """Typed answer, compared ignoring case and extra whitespace; patterns are Python regular expressions."""

    type: Literal["short_answer"]
    answers: list[NonEmpty] = Field(min_length=1)
    patterns: list[NonEmpty] = []
    wrong_feedback: str = Field("", description="Shown when the answer is not accepted.")


class Numeric(QuestionBase):
    type: Literal["numeric"]
    value: float
    tolerance: float = Field(0.0, ge=0)
    unit: str = ""


Question = Annotated[
    Union[Single, Multiple, TrueFalse, Matching, Ordering, ShortAnswer, Numeric],
    Field(discriminator="type"),
]
QUESTION_TYPES = ("single", "multiple", "true_false", "matching", "ordering", "short_answer", "numeric")


class BankInfo(Strict):
    """A bank's own fields, without its questions."""

    id: Identifier
    title: NonEmpty
    topic: Topic


class Bank(BankInfo):
    """A file of questions on one topic."""

    questions: list[Question] = Field(min_length=1)
