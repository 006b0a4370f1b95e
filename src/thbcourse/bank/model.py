"""The bank format: what a question bank file may contain.

This model is the single definition of the format. Validation, the JSON Schema that authors' editors
use (`thbcourse schema`), drawing and grading all read it, so none of them can drift from the others.
The records are msgspec Structs (thbcourse.bank.strict): frozen, unknown fields refused, text fields
declared NonEmpty stripped and never blank.
"""

from enum import Enum
from typing import Annotated, ClassVar, Literal, Union

from msgspec import Meta

from thbcourse.bank.strict import NonEmpty, Strict

Identifier = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)]
ObjectiveId = Annotated[str, Meta(pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")]
SourceRef = Annotated[
    str,
    Meta(pattern=r"^book/[A-Za-z0-9._/-]+\.md#[a-z0-9][a-z0-9_-]*$",
         description="The book section that teaches the point: book/<file>.md#<heading-anchor>."),
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


class Option(Strict, kw_only=True):
    text: NonEmpty
    correct: bool = False
    feedback: Annotated[str, Meta(description="Why this option is right or wrong; shown when it is chosen.")] = ""


class Pair(Strict, kw_only=True):
    left: NonEmpty
    right: NonEmpty
    feedback: Annotated[str, Meta(description="Shown when this pair is matched wrongly.")] = ""


class QuestionBase(Strict, tag_field="type", kw_only=True):
    """Fields every question has; `type` (the tag) says which kind of question it is."""

    type: ClassVar[str]
    id: Annotated[Identifier, Meta(description="Unique across all banks; never reuse the id of a retired question.")]
    topic: Annotated[Topic | None, Meta(description="Defaults to the bank's topic.")] = None
    difficulty: Annotated[Literal[1, 2, 3], Meta(description="1 easy, 2 medium, 3 hard.")]
    objective: Annotated[ObjectiveId, Meta(description="A learning-objective id declared in a chapter.")]
    source: SourceRef
    points: Annotated[float, Meta(gt=0, le=100)] = 1.0
    stem: Annotated[NonEmpty, Meta(description="The question, in Markdown.")]
    feedback: Annotated[NonEmpty, Meta(description="The explanation shown after answering, whatever the answer.")]
    variant_group: Annotated[Identifier | None, Meta(
        description="Questions that test the same point in other words; a paper never holds two of one group. "
                    "Every member must have the same objective.")] = None
    distinct_from: Annotated[list[Identifier], Meta(
        description="Questions whose stems read alike but that test a different point (a reviewed pair): the "
                    "near-duplicate check leaves the pair alone and both may share a paper.")] = []
    reserved: Annotated[bool, Meta(
        description="For assessment: drawn only by blueprints whose purpose is exam or post-test, which in turn "
                    "draw only reserved questions. Self-check, practice and pre-test blueprints never draw it, so "
                    "its key is never shown in self-study.")] = False


class Single(QuestionBase, tag="single", kw_only=True):
    """One correct option."""

    type: ClassVar[str] = "single"
    options: Annotated[list[Option], Meta(min_length=2)]


class Multiple(QuestionBase, tag="multiple", kw_only=True):
    """Several correct options; partial credit."""

    type: ClassVar[str] = "multiple"
    options: Annotated[list[Option], Meta(min_length=2)]


class TrueFalse(QuestionBase, tag="true_false", kw_only=True):
    """A statement that is true or false."""

    type: ClassVar[str] = "true_false"
    answer: bool
    feedback_true: Annotated[str, Meta(description="Shown to a learner who answered 'true'.")] = ""
    feedback_false: Annotated[str, Meta(description="Shown to a learner who answered 'false'.")] = ""


class Matching(QuestionBase, tag="matching", kw_only=True):
    """Match each left item with its right item; distractors are extra right-hand items."""

    type: ClassVar[str] = "matching"
    pairs: Annotated[list[Pair], Meta(min_length=2)]
    distractors: list[NonEmpty] = []


class Ordering(QuestionBase, tag="ordering", kw_only=True):
    """Put the items in order; `items` lists them in the correct order."""

    type: ClassVar[str] = "ordering"
    items: list[NonEmpty]


class ShortAnswer(QuestionBase, tag="short_answer", kw_only=True):
    """Typed answer, compared ignoring case and extra whitespace; patterns are Python regular expressions."""

    type: ClassVar[str] = "short_answer"
    answers: Annotated[list[NonEmpty], Meta(min_length=1)]
    patterns: list[NonEmpty] = []
    wrong_feedback: Annotated[str, Meta(description="Shown when the answer is not accepted.")] = ""


class Numeric(QuestionBase, tag="numeric", kw_only=True):
    """A number, right within a tolerance."""

    type: ClassVar[str] = "numeric"
    value: float
    tolerance: Annotated[float, Meta(ge=0)] = 0.0
    unit: str = ""


Question = Union[Single, Multiple, TrueFalse, Matching, Ordering, ShortAnswer, Numeric]
QUESTION_TYPES = ("single", "multiple", "true_false", "matching", "ordering", "short_answer", "numeric")


class BankInfo(Strict, kw_only=True):
    """A bank's own fields, without its questions."""

    id: Identifier
    title: NonEmpty
    topic: Topic


class Bank(BankInfo, kw_only=True):
    """A file of questions on one topic."""

    questions: Annotated[list[Question], Meta(min_length=1)]
