"""Sphinx extension: the course's directives.

learning-objectives  declares a chapter's objectives (YAML id: text) and renders them
trainer-notes        an admonition in the trainer edition; nothing at all in the student edition
chapter-resources    links to the exercises that train the page's objectives and the deck; on a chapter
                     page, the chapter's self-check (thbcourse.book.selfcheck), drawn from quizzes/
exercise-overview    objectives (linked to where they are declared), format, timing, fictional notice
classroom-activity   a marked in-class task in a chapter: title, objectives, format, timing, instructions
course-figure        a diagram drawn from book/figures/<name>.yml (thbcourse.book.figures), inline SVG
marking-rubric       the criteria and levels of an assessed task's rubric (quizzes/rubrics/<id>.yml)

Objectives and exercise overviews are read from the sources by thbcourse.book.objectives, the
same code the quiz validator uses, so the links need no list kept by hand.
"""
from __future__ import annotations

import difflib
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

import pybtex.plugin
import sphinxcontrib.bibtex.plugin
from docutils import nodes
from docutils.parsers.rst import directives
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style import template
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

from thbcourse.bank.course import load_course, quiz_files
from thbcourse.book import selfcheck
from thbcourse.book.myst import Block, read_page
from thbcourse.book.objectives import (
    ACTIVITY, FICTIONAL, Objective, collect_objectives, parse_activity, parse_objectives, parse_overview,
    read_overviews,
)
from thbcourse.book.slides import DECKS, deck_for
from thbcourse.engine.draw import DrawError
from thbcourse.problems import AuthoringError

STATIC = Path(__file__).parent / "static" / "book"
SHARED = "thbcourse-shared.json"  # in the doctree folder: what pages show of other pages (_note_shared)
logger = logging.getLogger(__name__)


def objective_label(objective_id: str) -> str:
    return f"objective-{objective_id}"


class _CourseDirective(SphinxDirective):
    def block(self) -> Block:
        # MyST reports the opening fence as self.lineno; the body starts on the next line.
        return Block(self.name, "", {}, "\n".join(self.content) + "\n", self.lineno, 0, self.lineno + 1)

    def report(self, err: AuthoringError) -> list[nodes.Node]:
        for problem in err.problems:
            logger.warning(problem.message, location=(self.env.docname, problem.line), type="thbcourse")
        return []

    def objective_id(self, oid: str) -> list[nodes.Node]:
        """The id after an objective's text: for trainers (reports and banks name it), not for officers."""
        if self.config.thbcourse_edition == "student":
            return []
        return [nodes.Text(" "), nodes.literal(text=oid, classes=["objective-id"])]

    def objectives(self) -> dict[str, Objective]:
        """The declared objectives; this page is re-read whenever they change. Problems are
        left to the page that declares the objectives, which reports them with their line."""
        self.note_shared()
        return collect_objectives(Path(self.env.srcdir))[0]

    def note_shared(self) -> None:
        """This page shows what other pages declare (objectives, exercise overviews, headings)."""
        self.env.note_dependency(str(Path(self.env.doctreedir) / SHARED))


class LearningObjectives(_CourseDirective):
    has_content = True

    def run(self):
        try:
            declared = parse_objectives(self.block(), Path(self.env.doc2path(self.env.docname)))
        except AuthoringError as err:
            return self.report(err)
        box = nodes.admonition(classes=["learning-objectives"])
        box += nodes.title(text="Learning objectives")
        box += nodes.paragraph(text="By the end of this chapter you can:")
        items = nodes.bullet_list()
        for obj in declared:
            item = nodes.list_item(names=[objective_label(obj.id)])
            self.state.document.note_explicit_target(item, item)  # a std label: exercises link here
            item += nodes.paragraph("", "", nodes.Text(obj.text), *self.objective_id(obj.id))
            items += item
        box += items
        return [box]


class TrainerNotes(_CourseDirective):
    has_content = True

    def run(self):
        if self.config.thbcourse_edition == "student":
            return []  # removed before anything (search index included) can see it
        box = nodes.admonition(classes=["trainer-notes"])
        box += nodes.title(text="Trainer notes")
        self.state.nested_parse(self.content, self.content_offset, box)
        return [box]


class _ObjectivesBox(_CourseDirective):
    """A box that lists objectives (linked to where a chapter declares them), then format and timing."""

    def objective_list(self, ids) -> nodes.bullet_list:
        declared = self.objectives()
        items = nodes.bullet_list()
        for oid in ids:
            if oid not in declared:
                close = difflib.get_close_matches(oid, list(declared), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                logger.warning(f"{self.name}: objective {oid!r} is not declared by any chapter{hint}",
                               location=(self.env.docname, self.lineno), type="thbcourse")
                continue
            link = addnodes.pending_xref("", nodes.inline(text=declared[oid].text), refdomain="std", reftype="ref",
                                         reftarget=objective_label(oid), refexplicit=True, refwarn=True,
                                         refdoc=self.env.docname)
            items += nodes.list_item("", nodes.paragraph("", "", link, *self.objective_id(oid)))
        return items

    @staticmethod
    def facts(box, fmt: str, timing: str) -> None:
        for name, value in (("Format", fmt), ("Timing", timing)):
            box += nodes.paragraph("", "", nodes.strong(text=f"{name}: "), nodes.Text(value))


class ExerciseOverview(_ObjectivesBox):
    has_content = True

    def run(self):
        path = Path(self.env.doc2path(self.env.docname))
        try:
            overview = parse_overview(self.block(), path)
        except AuthoringError as err:
            return self.report(err)
        box = nodes.admonition(classes=["exercise-overview"])
        box += nodes.title(text="Exercise overview")
        box += nodes.paragraph(text="Objectives:")
        box += self.objective_list(overview.objectives)
        self.facts(box, overview.format, overview.timing)
        box += nodes.paragraph(text=FICTIONAL, classes=["fictional-notice"])
        return [box]


class ClassroomActivity(_ObjectivesBox):
    """Shown in both editions: the class does it together. Debrief points belong in trainer-notes."""

    has_content = True
    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"objectives": directives.unchanged, "format": directives.unchanged,
                   "timing": directives.unchanged}

    def run(self):
        path = Path(self.env.doc2path(self.env.docname))
        block = Block(ACTIVITY, self.arguments[0], {k: str(v) for k, v in self.options.items()},
                      "\n".join(self.content) + "\n", self.lineno, 0, self.lineno + 1)
        try:
            activity = parse_activity(block, path)
        except AuthoringError as err:
            return self.report(err)
        box = nodes.admonition(classes=["classroom-activity"])
        box += nodes.title(text=f"Classroom activity: {activity.title}")
        box += nodes.paragraph(text="Practises:")
        box += self.objective_list(activity.objectives)
        self.facts(box, activity.format, activity.timing)
        self.state.nested_parse(self.content, self.content_offset, box)
        return [box]


class RubricTable(_CourseDirective):
    """The rubric's criteria and levels as a table (both editions: officers see how they are marked)."""

    required_arguments = 1

    def run(self):
        course = getattr(self.env.app, "thbcourse_course", None)
        rubric = course.rubrics.get(self.arguments[0]) if course else None
        for path in Path(self.env.srcdir).glob("quizzes/rubrics/*.y*ml"):
            self.env.note_dependency(str(path))
        if rubric is None:
            known = ", ".join(sorted(course.rubrics)) if course else "none loaded"
            logger.warning(f"rubric {self.arguments[0]!r} not found under quizzes/rubrics/ (known: {known})",
                           location=(self.env.docname, self.lineno), type="thbcourse")
            return []
        table = nodes.table(classes=["rubric"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (25, 10, 65):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        head += _row(["Criterion", "Points", "Levels"])
        group += head
        body = nodes.tbody()
        for criterion in rubric.criteria:
            levels = nodes.bullet_list()
            for level in criterion.levels:
                levels += nodes.list_item("", nodes.paragraph("", "", nodes.strong(
                    text=f"{level.label} ({level.points:g}): "), nodes.Text(level.descriptor)))
            body += _row([criterion.title, f"{criterion.max_points:g}", levels])
        body += _row(["Total", f"{rubric.max_points:g}", f"Pass mark: {rubric.pass_mark:g} % of the total."])
        group += body
        title = nodes.paragraph("", "", nodes.strong(text=f"Marking rubric: {rubric.title}"))
        return [title, table]


class CourseFigure(_CourseDirective):
    required_arguments = 1

    def run(self):
        from thbcourse.book.figures import figure_html, figure_path

        root = Path(self.env.srcdir)
        path = figure_path(root, self.arguments[0])
        self.env.note_dependency(str(path))
        if not path.is_file():
            logger.warning(f"course-figure: no file {path.relative_to(root)}", location=(self.env.docname, self.lineno),
                           type="thbcourse")
            return []
        try:
            html = figure_html(root, self.arguments[0])
        except AuthoringError as err:
            for problem in err.problems:
                logger.warning(problem.message, location=f"{problem.path}:{problem.line}", type="thbcourse")
            return []
        return [nodes.raw("", html, format="html")]


def _row(cells) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += cell if isinstance(cell, nodes.Node) else nodes.paragraph(text=str(cell))
        row += entry
    return row


class ChapterResources(_CourseDirective):
    has_content = False

    def run(self):
        root = Path(self.env.srcdir)
        docname = self.env.docname
        page = Path(self.env.doc2path(docname)).resolve()
        objectives = self.objectives()
        mine = {o.id for o in objectives.values() if o.path.resolve() == page}
        if not mine:  # a section page (4.1 ...) serves the objectives of its chapter
            prefix = page.name[:3]
            mine = {o.id for o in objectives.values() if o.path.name[:3] == prefix and prefix[:2].isdigit()}
        chapter = next((o.path.resolve() for o in objectives.values() if o.id in mine), page)
        self.note_shared()
        try:
            overviews = read_overviews(root)
        except AuthoringError:
            overviews = {}  # the exercise page reports its own problem
        items = nodes.bullet_list(classes=["chapter-resources"])

        exercises = nodes.bullet_list()
        for stem, overview in sorted(overviews.items()):
            if mine & set(overview.objectives):
                exercises += nodes.list_item("", nodes.paragraph("", "", addnodes.pending_xref(
                    "", nodes.inline(text=stem), refdomain="std", reftype="doc", reftarget=f"/exercises/{stem}",
                    refexplicit=False, refwarn=True, refdoc=docname)))
        entry = nodes.list_item("", nodes.paragraph(text="Exercises:"))
        entry += exercises if len(exercises) else nodes.paragraph(text="No exercise trains these objectives.")
        items += entry

        deck = deck_for(page, root)
        if deck:
            href = posixpath.relpath(f"slides/{deck}.html", posixpath.dirname(docname) or ".")
            items += nodes.list_item("", nodes.paragraph("", "", nodes.Text("Slides: "), nodes.reference(
                "", "slide deck for this chapter", refuri=href, classes=["slide-deck"])))
        found = self.self_check(root, chapter)
        if found is None:
            return [items]
        blueprint, block = found
        chapter_doc = self.env.path2doc(str(chapter))
        href = "" if block else posixpath.relpath(f"{chapter_doc}.html", posixpath.dirname(docname) or ".")
        items += nodes.list_item("", nodes.paragraph("", "", nodes.Text("Self-check: "), nodes.reference(
            "", "below" if block else "at the end of the chapter page", refuri=f"{href}#sc-{blueprint.id}"),
            nodes.Text(" (practice: nothing is recorded)"), classes=["self-check"]))
        return [items] + ([nodes.raw("", block, format="html")] if block else [])

    def self_check(self, root: Path, chapter: Path) -> tuple | None:
        """(blueprint, HTML) of the chapter's self-check; the HTML is "" on a section page, which
        links to its chapter's. None when the book has no quizzes/ folder or when the quizzes have
        problems (reported once, when the build starts)."""
        course = getattr(self.env.app, "thbcourse_course", None)
        if course is None:
            return None
        for path in quiz_files([root / "quizzes"]):
            self.env.note_dependency(str(path))
        name = chapter.relative_to(root.resolve()).as_posix()
        here = chapter == Path(self.env.doc2path(self.env.docname)).resolve()
        blueprints = [b for b in course.blueprints.values() if b.purpose == "self-check" and b.chapter == name]
        if len(blueprints) != 1:
            ids = ", ".join(sorted(b.id for b in blueprints))
            if here:
                logger.warning(f"{len(blueprints)} self-check blueprints name this chapter ({ids})" if blueprints else
                               f"no self-check for this chapter: add a blueprint with 'purpose: self-check' and "
                               f"'chapter: {name}' under quizzes/blueprints/",
                               location=(self.env.docname, self.lineno), type="thbcourse")
            return None
        if not here:
            return blueprints[0], ""
        block = self.render_self_check(root, blueprints[0], course)
        return (blueprints[0], block) if block else None

    def render_self_check(self, root: Path, blueprint, course) -> str | None:
        docname = self.env.docname

        def link(source: str) -> tuple[str, str]:
            target = source.partition("#")[0].removesuffix(".md")
            if target not in self.env.found_docs:
                logger.warning(f"self-check {blueprint.id}: the source {source} is not a page of the book",
                               location=(docname, self.lineno), type="thbcourse")
            return selfcheck.source_link(source, docname, root)

        try:
            return selfcheck.render(blueprint, selfcheck.papers(course, blueprint), docname, link)
        except (selfcheck.SelfCheckError, DrawError) as err:
            logger.warning(f"self-check {blueprint.id}: {err}", location=(docname, self.lineno), type="thbcourse")
            return None


@dataclass
class _AuthorYearRound(AuthorYearReferenceStyle):
    """(Europol, 2014, Key trends) and Europol (2014): the brackets police readers expect."""

    bracket_parenthetical: BracketStyle = field(default_factory=lambda: BracketStyle(left="(", right=")"))
    bracket_textual: BracketStyle = field(default_factory=lambda: BracketStyle(left="(", right=")"))


class _KeepCase(PlainStyle):
    """pybtex's plain style, but titles as written: plain lower-cases "Directive 2011/36/EU" and "ILO"."""

    def format_title(self, e, which_field, as_sentence=True):
        title = template.field(which_field)
        return template.sentence[title] if as_sentence else title


sphinxcontrib.bibtex.plugin.register_plugin(
    "sphinxcontrib.bibtex.style.referencing", "author_year_round", _AuthorYearRound)
pybtex.plugin.register_plugin("pybtex.style.formatting", "plain_keepcase", _KeepCase)


def _number_tasks(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Tasks numbered per exercise, as people say them and as the workbooks print them: the k-th task
    of exercises/exNN-... is "Task NN.k"; its solution is the "Model answer to Task NN.k", marked for
    trainers. (sphinx-exercise numbers tasks across the whole book.)"""
    from sphinx_exercise.nodes import exercise_enumerable_node, solution_node

    match = re.match(r"exercises/ex(\d+)-", docname)
    if not match:
        return
    number, tasks = int(match.group(1)), {}
    app.env.toc_fignumbers.get(docname, {}).pop("exercise", None)  # no "Exercise 42" caption number
    for k, node in enumerate(doctree.findall(exercise_enumerable_node), 1):
        tasks[node.get("label")] = name = f"Task {number}.{k}"
        subtitle = [c.deepcopy() for c in node.children[0].children[1:]]
        node.children[0].replace_self(nodes.title("", name, *([nodes.Text(" ")] + subtitle if subtitle else [])))
    for node in doctree.findall(solution_node):
        task = tasks.get(node.get("target_label"), "the task")
        node.children[0].replace_self(nodes.title("", f"Model answer to {task} (trainer only)"))
        node["classes"].append("trainer-only")


def _name_sidebar_toggles(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """pydata-sphinx-theme 0.17 leaves the buttons that open a chapter's sections in the sidebar
    (<summary>) without a name for screen readers (axe: summary-name, serious): name each after
    its chapter."""
    generate = context.get("generate_toctree_html")
    if generate is None:
        return

    def named(kind: str, *args, **kwargs):
        soup = generate(kind, *args, **kwargs)  # cached by the theme: the same tree on every call
        for summary in soup.select("summary") if kind == "sidebar" else ():
            link = summary.find_parent("li").find("a")
            if not summary.get_text(strip=True) and link is not None:
                summary["aria-label"] = f"Sections of {link.get_text(' ', strip=True)}"
        return soup

    context["generate_toctree_html"] = named


def _refuse_maths(app: Sphinx, doctree: nodes.document) -> None:
    # The book ships without MathJax so that it works offline; maths would need it.
    for node in doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block))):
        logger.warning("maths is not supported in this course (the book is built without MathJax)",
                       location=node, type="thbcourse")


def _add_static(app: Sphinx, config) -> None:
    config.html_static_path.append(str(STATIC))


def _note_shared(app: Sphinx) -> None:
    """Write what pages show of other pages to one file, when it changed since the last build: the
    objectives, the exercises' overviews and the headings (self-checks name the sections to re-read).
    Pages that show them depend on this file, not on every page, so editing the text of a chapter
    re-reads that chapter only."""
    root = Path(app.srcdir)
    objectives, problems = collect_objectives(root)
    try:
        overviews = {stem: [o.objectives, o.format, o.timing] for stem, o in read_overviews(root).items()}
    except AuthoringError as err:
        overviews = [str(p) for p in err.problems]  # the exercise page reports them
    headings = {p.relative_to(root).as_posix(): [(s.level, s.text, s.label) for s in read_page(p).sections]
                for p in sorted(root.glob("book/**/*.md")) if p.parent != root / DECKS}
    declared = {o.id: [o.text, o.path.relative_to(root).as_posix()] for o in objectives.values()}
    shared = json.dumps({"objectives": declared, "problems": [str(p) for p in problems], "overviews": overviews,
                         "headings": headings}, sort_keys=True, indent=0)
    path = Path(app.doctreedir) / SHARED
    if not path.is_file() or path.read_text(encoding="utf-8") != shared:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(shared, encoding="utf-8")


def _load_quizzes(app: Sphinx) -> None:
    """Load the banks and blueprints once per build, for the self-checks of the chapter pages.
    A book without a quizzes/ folder has no self-checks; problems fail the build like any warning."""
    app.thbcourse_course = None
    folder = Path(app.srcdir) / "quizzes"
    if not folder.is_dir():
        return
    try:
        app.thbcourse_course = load_course([folder], book_root=Path(app.srcdir))
    except AuthoringError as err:
        for problem in err.problems:
            logger.warning(problem.message, location=f"{problem.path}:{problem.line}", type="thbcourse")


def setup(app: Sphinx) -> dict:
    app.add_config_value("thbcourse_edition", "trainer", "env", [str])
    app.add_directive("learning-objectives", LearningObjectives)
    app.add_directive("trainer-notes", TrainerNotes)
    app.add_directive("exercise-overview", ExerciseOverview)
    app.add_directive("chapter-resources", ChapterResources)
    app.add_directive("classroom-activity", ClassroomActivity)
    app.add_directive("marking-rubric", RubricTable)
    app.add_directive("course-figure", CourseFigure)
    app.connect("doctree-resolved", _number_tasks)
    app.connect("config-inited", _add_static)
    app.connect("builder-inited", _load_quizzes)
    app.connect("builder-inited", _note_shared)
    app.connect("html-page-context", _name_sidebar_toggles, priority=600)  # after the theme's
    app.connect("doctree-read", _refuse_maths)
    app.add_css_file("thbcourse.css")
    app.add_js_file("selfcheck.js", loading_method="defer")
    app.add_js_file("menus.js", loading_method="defer")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
