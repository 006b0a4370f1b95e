"""Self-checks at the end of chapter pages: the engine's tables, the build, and the pages in Chromium.

The tables are compared with thbcourse.engine.grade for every response they cover. The real book's
student edition is built once for the module; the mini book (tests/books/mini) is built with the
quizzes of tests/books/mini-quizzes, whose alpha chapter draws every question type. Browser tests
open the built pages from the file system in Debian's Chromium, with every http(s) request aborted
and counted.
"""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import msgspec
import pytest
from bs4 import BeautifulSoup

from test_book import make_mini, norm, soup
from thbcourse.bank.blueprint import Grading
from thbcourse.bank.course import load_course
from thbcourse.book import build
from thbcourse.book.selfcheck import (
    MAX_TABLE, SEEDS, SelfCheckError, item_key, js_pattern_problem, response_key, responses, tables,
)
from thbcourse.book.slides import chapter_pages
from thbcourse.deliveries.markdown import to_html
from thbcourse.engine.answers import parse_answer
from thbcourse.engine.draw import PaperItem, draw
from thbcourse.engine.grade import grade

ROOT = Path(__file__).resolve().parents[1]
MINI = Path(__file__).parent / "books" / "mini"
MINI_QUIZZES = Path(__file__).parent / "books" / "mini-quizzes"
SAMPLE = Path(__file__).parent / "data" / "quizzes"
FINITE = ("single", "multiple", "true_false", "matching", "ordering")


def text(html: str) -> str:
    return norm(BeautifulSoup(html, "html.parser").get_text(" "))


def verdict(graded) -> str:
    """What the page must say for the engine's result (selfcheck.js rounds to two decimals)."""
    word = "Correct" if graded.correct else "Partly correct" if graded.score > 0 else "Not correct"
    points = f"{graded.max:g} point" + ("" if graded.max == 1 else "s")
    return f"{word}: {round(graded.score, 2):g} of {points}."


# --- tables: the engine's verdicts for every response --------------------------------------------


@pytest.fixture(scope="module")
def mini_course():
    return load_course([MINI_QUIZZES], book_root=MINI)


@pytest.fixture(scope="module")
def questions(mini_course):
    sample = load_course([SAMPLE], book_root=None)
    return [*mini_course.questions.values(), *sample.questions.values()]


def looked_up(data: dict, response) -> list:
    """The outcome the page shows for a response, read from the tables as selfcheck.js reads them."""
    if "pairs" in data:
        key = "".join(str(data["pairs"][i][response[i]]) for i in range(len(response)))
    else:
        key = response_key(response)
    score, correct, notes = data["outcomes"][data["table"][key]]
    return [score, correct, [data["notes"][n] for n in notes]]


@pytest.mark.parametrize("policy", [Grading(), Grading(partial_credit=False), Grading(negative_marking=False)],
                         ids=["default", "all-or-nothing", "no-negative-marking"])
def test_tables_give_the_engines_result_for_every_response(questions, policy):
    checked = 0
    for q in (q for q in questions if q.type in FINITE):
        data = tables(PaperItem(1, "s", q, 2.0), policy)
        for response in responses(q):
            graded = grade(q, response, 2.0, policy)
            assert looked_up(data, response) == [graded.score, graded.correct, [to_html(f) for f in graded.feedback]], \
                (q.id, response)
            checked += 1
    assert checked > 8000  # the large matching question is checked on every assignment too


def test_matching_beyond_the_limit_uses_pair_tables(mini_course):
    small, large = (tables(PaperItem(1, "s", mini_course.questions[qid], 1.0), Grading())
                    for qid in ("mini-matching-small", "mini-matching-large"))
    assert "pairs" not in small and len(small["table"]) == 4 ** 3
    assert 6 ** 5 > MAX_TABLE and len(large["table"]) == 2 ** 5
    assert large["pairs"] == [[int(i == j) for j in range(6)] for i in range(5)]


def test_short_answer_and_numeric_carry_what_the_engine_accepts(mini_course):
    short = mini_course.questions["mini-short-answer"]
    data = tables(PaperItem(1, "s", short, 1.0), Grading())
    assert data["accepted"] == ["multihoming"] and data["patterns"] == list(short.patterns)
    assert data["outcomes"][data["right"]][:2] == [1.0, True]
    assert data["outcomes"][data["wrong"]] == [0.0, False, [0]] and data["notes"] == [to_html(short.wrong_feedback)]

    numeric = mini_course.questions["mini-numeric"]
    low, high = tables(PaperItem(1, "s", numeric, 1.0), Grading())["range"]
    assert grade(numeric, low).correct and grade(numeric, high).correct
    assert not grade(numeric, math.nextafter(low, -math.inf)).correct
    assert not grade(numeric, math.nextafter(high, math.inf)).correct
    assert 79.5 - 1e-6 < low <= 79.5 and 80.5 <= high < 80.5 + 1e-6


def test_a_question_too_large_to_tabulate_is_refused(mini_course):
    base = mini_course.questions["mini-ordering"]
    long = msgspec.structs.replace(base, items=[f"Step {i}" for i in range(8)])
    with pytest.raises(SelfCheckError, match=r"'mini-ordering' has 40320 possible answers.*at most 5040"):
        tables(PaperItem(1, "s", long, 1.0), Grading())


@pytest.mark.parametrize("pattern", [
    r"multi[- ]?homing", r"(the )?purpose( element)?\.?", r'"?fishing"?\.?', r"open[- ]?source \(osint\)",
    r"a{2,3}?b", r"[^x\]]+", r"colou?r|color", r"(?:non)\s?punishment", r"a\ b",
])
def test_patterns_that_mean_the_same_in_a_browser(pattern):
    assert js_pattern_problem(pattern) is None


@pytest.mark.parametrize("pattern, why", [
    (r"\d+", r"\d does not mean the same"), (r"\bcat\b", r"\b does not"), (r"\w+", r"\w does not"),
    (r"a(?=b)", "only plain groups"), (r"(?P<x>a)", "only plain groups"), (r"(?i)a", "only plain groups"),
    (r"a*+", "a repeat of a repeat"), (r"a{,3}", r"write \{"), (r"[]a]", "a ']' first"),
    (r"[a[b]", r"write \["), (r"[a&&b]", r"write \&"), (r"(a", "not a valid regular expression"),
])
def test_patterns_that_could_differ_in_a_browser_are_refused(pattern, why):
    assert why in js_pattern_problem(pattern)


def test_response_keys():
    assert [response_key(r) for r in (2, True, frozenset({3, 1}), frozenset(), {0: 2, 1: 0}, [2, 0, 1])] == \
        ["2", "true", "1,3", "", "2,0", "2,0,1"]


# --- the real book ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    if build.main(out=out, only=("student",), root=ROOT) != 0:
        pytest.fail("the student edition did not build; run `thbcourse build --only student` to see the warnings")
    return out / "student" / "html"


@pytest.fixture(scope="module")
def course():
    return load_course([ROOT / "quizzes"], book_root=ROOT)


def self_check_of(course, chapter: Path):
    (blueprint,) = [b for b in course.blueprints.values()
                    if b.purpose == "self-check" and b.chapter == chapter.relative_to(ROOT).as_posix()]
    return blueprint


@pytest.mark.slow
def test_every_chapter_page_ends_with_its_self_check_and_the_drawn_questions(book, course):
    chapters = chapter_pages(ROOT)
    assert len(chapters) == 8
    for path in chapters:
        blueprint = self_check_of(course, path)
        (box,) = soup(book / "book" / f"{path.stem}.html").select("section.sc")
        assert box.h3["id"] == f"sc-{blueprint.id}" and box["data-page"] == f"book/{path.stem}"
        assert "Practice: nothing is recorded; the answers are in this page." in box.select_one(".sc-practice").get_text()
        data = json.loads(box.select_one("script.sc-data").string)
        shown = box.select(".sc-paper")
        assert [int(p["data-seed"]) for p in shown] == list(SEEDS)
        for element, seed in zip(shown, SEEDS):
            paper = draw(course, blueprint, seed)
            assert [text(str(s)) for s in element.select(".sc-stem")] == [text(to_html(i.question.stem)) for i in paper.items]
            assert [q["data-key"] for q in element.select(".sc-q")] == [item_key(i) for i in paper.items]
            assert {item_key(i) for i in paper.items} <= set(data)


@pytest.mark.slow
def test_source_links_resolve_to_the_section_that_teaches_the_question(book, course):
    ids: dict[Path, set[str]] = {}
    checked = 0
    for page in (book / "book").glob("*.html"):
        for fieldset in soup(page).select("section.sc .sc-q"):
            source = course.questions[fieldset["data-key"].split("@")[0]].source
            href = fieldset.select_one(".sc-source a")["href"]
            parts = urlsplit(href)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target == (book / source.split("#")[0]).with_suffix(".html").resolve(), (page.name, href)
            if target not in ids:
                ids[target] = {t["id"] for t in soup(target).find_all(id=True)}
            assert parts.fragment == source.split("#")[1] and parts.fragment in ids[target], (page.name, href)
            checked += 1
    assert checked >= 3 * 40


@pytest.mark.slow
def test_the_self_check_needs_no_inline_script(book):
    for page in (book / "book").glob("*.html"):
        for box in soup(page).select("section.sc"):
            assert not [a for el in box.find_all(True) for a in el.attrs if a.startswith("on")], page.name
            assert [s.get("type") for s in box.find_all("script")] == ["application/json"], page.name
        assert "_static/selfcheck.js" in page.read_text()


# --- the mini book with every type ----------------------------------------------------------------


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    root = make_mini(tmp_path_factory.mktemp("mini-self-check"))
    shutil.copytree(MINI_QUIZZES, root / "quizzes")
    assert build.main(out=root / "_build", only=("student",), root=root) == 0
    return root / "_build" / "student" / "html"


def test_a_section_page_links_to_its_chapters_self_check(mini):
    detail = soup(mini / "book" / "01-1-alpha-detail.html")
    assert not detail.select("section.sc")
    assert detail.select_one("p.self-check a")["href"] == "01-alpha.html#sc-self-check-alpha"
    assert soup(mini / "book" / "01-alpha.html").select_one("p.self-check a")["href"] == "#sc-self-check-alpha"


def test_chapter_without_self_check_and_browser_unsafe_pattern_fail_the_build(tmp_path, capsys):
    root = make_mini(tmp_path)
    shutil.copytree(MINI_QUIZZES, root / "quizzes")
    (root / "quizzes" / "blueprints" / "self-check-beta.yml").unlink()
    bank = root / "quizzes" / "banks" / "mini.yml"
    bank.write_text(bank.read_text().replace(r"'multi[- ]?homing\.?'", r"'multi\W?homing'"))
    assert build.main(out=root / "_build", only=("student",), root=root) == 1
    err = capsys.readouterr().err
    assert "02-beta.md:21: WARNING: no self-check for this chapter" in err and "'chapter: book/02-beta.md'" in err
    assert "01-alpha.md:51: WARNING: self-check self-check-alpha: short-answer question 'mini-short-answer'" in err
    assert r"\W does not mean the same in a browser" in err and "Traceback" not in err


# --- in the browser ----------------------------------------------------------------------------------


@pytest.fixture
def context(browser):
    """A fresh browser profile (empty localStorage); every request that is not file:// is aborted
    and counted, and so is every JavaScript error."""
    ctx = browser.new_context()
    left, errors = [], []
    ctx.route(re.compile(r"^(?!file:)"), lambda route: (left.append(route.request.url), route.abort()))
    ctx.on("page", lambda page: page.on("pageerror", lambda err: errors.append(str(err))))
    yield ctx
    ctx.close()
    assert not left, f"requests left the file system: {left}"
    assert not errors, f"JavaScript errors: {errors}"


def open_page(context, path: Path):
    page = context.new_page()
    page.goto(path.as_uri())
    return page


def shown(page, type_: str):
    return page.locator(f".sc-paper:not([hidden]) fieldset[data-type={type_}]")


def fill(fieldset, q, response) -> None:
    """Give a canonical response with the mouse (typed text for short answers and numbers)."""
    if q.type in ("single", "true_false"):
        fieldset.locator(f"input[value='{response_key(response)}']").check()
    elif q.type == "multiple":
        for i in response:
            fieldset.locator(f"input[value='{i}']").check()
    elif q.type == "matching":
        for i, j in response.items():
            fieldset.locator("select").nth(i).select_option(str(j))
    elif q.type == "ordering":
        for position, index in enumerate(response):
            item = fieldset.locator(f"li[data-index='{index}']")
            while item.evaluate("li => [...li.parentNode.children].indexOf(li)") > position:
                item.locator(".sc-up").click()
    else:
        fieldset.locator("input[type=text]").fill(response)


def check_and_compare(page, fieldset, course, response) -> object:
    """Check the answer; the page must show the engine's verdict, notes, explanation and source."""
    key = fieldset.get_attribute("data-key")
    q, points = course.questions[key.split("@")[0]], float(key.split("@")[1])
    blueprint = course.blueprints[page.locator("section.sc").get_attribute("data-quiz")]
    fill(fieldset, q, response)
    fieldset.locator(".sc-check").click()
    canonical = parse_answer(PaperItem(1, "s", q, points), response) if isinstance(response, str) else response
    graded = grade(q, canonical, points, blueprint.grading)
    feedback = fieldset.locator(".sc-feedback")
    assert feedback.locator(".sc-verdict").inner_text() == verdict(graded)
    assert [norm(n) for n in feedback.locator(".sc-notes li").all_inner_texts()] == [norm(f) for f in graded.feedback]
    assert norm(feedback.locator(".sc-explanation").inner_text()) == norm(q.feedback)
    assert feedback.is_visible()
    assert feedback.locator(".sc-key").is_visible() is not graded.correct  # the key only after a miss
    if not graded.correct:  # options are shown in a shuffled order: compare the named options as a set
        named, right = [norm(n) for n in named_key(feedback)], [norm(r) for r in correct_answer(q)]
        assert (sorted(named) == sorted(right)) if q.type == "multiple" else named == right, q.id
    link = feedback.locator(".sc-source a").get_attribute("href")
    page_name, anchor = q.source.removeprefix("book/").split("#")
    assert link in (f"#{anchor}", f"{page_name.removesuffix('.md')}.html#{anchor}")
    return graded


def named_key(feedback) -> list[str]:
    """What the feedback names as the correct answer: its list entries, or the words after the colon."""
    key = feedback.locator(".sc-key")
    entries = key.locator("li").all_inner_texts() or [key.inner_text().removeprefix("The correct answer: ")]
    return [e.strip() for e in entries]


def correct_answer(q) -> list[str]:
    """The question's key as the page must name it; the engine gives that key full marks."""
    right = {"short_answer": lambda: q.answers[0], "numeric": lambda: q.value}.get(q.type, lambda: key_of(q))()
    assert grade(q, right).correct, q.id
    if q.type in ("single", "multiple"):
        return [text(to_html(q.options[i].text)) for i in ([right] if q.type == "single" else sorted(right))]
    if q.type == "matching":
        return [f"{text(to_html(p.left))}: {text(to_html(p.right))}" for p in q.pairs]
    if q.type == "ordering":
        return [text(to_html(i)) for i in q.items]
    if q.type == "true_false":
        return ["True" if right else "False"]
    if q.type == "short_answer":
        return [right]
    return [f"{right:g}" + (f" ± {q.tolerance:g}" if q.tolerance else "") + (f" {q.unit}" if q.unit else "")]


def key_of(q):
    if q.type in ("single", "multiple"):
        correct = [i for i, o in enumerate(q.options) if o.correct]
        return correct[0] if q.type == "single" else frozenset(correct)
    return {"true_false": lambda: q.answer, "matching": lambda: {i: i for i in range(len(q.pairs))},
            "ordering": lambda: list(range(len(q.items)))}[q.type]()


RIGHT = {"short_answer": "  Multi-HOMING. ", "numeric": "80,4"}


def wrong_of(q):
    """A wrong or partly right response for each type."""
    if q.type == "single":
        return next(i for i, o in enumerate(q.options) if not o.correct)
    if q.type == "multiple":  # one right and one wrong option
        return frozenset({min(key_of(q)), next(i for i, o in enumerate(q.options) if not o.correct)})
    if q.type == "matching":  # two pairs swapped
        return {**key_of(q), 0: 1, 1: 0}
    if q.type == "ordering":
        return list(reversed(range(len(q.items))))
    return {"true_false": lambda: not q.answer, "short_answer": lambda: "not the term",
            "numeric": lambda: f"{q.value + q.tolerance + 1:g}"}[q.type]()


def test_right_answers_of_every_type_give_correct_feedback_and_full_score(context, mini, mini_course):
    page = open_page(context, mini / "book" / "01-alpha.html")
    types = page.locator(".sc-paper:not([hidden]) .sc-q").evaluate_all("qs => qs.map(q => q.dataset.type)")
    assert sorted(set(types)) == sorted([*FINITE, "short_answer", "numeric"])
    for n in range(len(types)):
        fieldset = page.locator(".sc-paper:not([hidden]) .sc-q").nth(n)
        q = mini_course.questions[fieldset.get_attribute("data-key").split("@")[0]]
        assert check_and_compare(page, fieldset, mini_course, RIGHT.get(q.type) or key_of(q)).correct
        assert fieldset.locator(".sc-check").is_disabled()  # checked once: the score stands until "try again"
    assert page.locator(".sc-score").inner_text() == "Finished: 8 of 8 points (100 %); the pass mark is 70 %."
    assert page.locator(".sc-reread").is_hidden()


def test_wrong_and_partly_right_answers_give_the_engines_feedback_and_score(context, mini, mini_course):
    page = open_page(context, mini / "book" / "01-alpha.html")
    numeric = shown(page, "numeric")
    numeric.locator("input").fill("eighty")
    numeric.locator(".sc-check").click()
    assert numeric.locator(".sc-missing").inner_text() == "Type a number first, such as 12.5."
    assert numeric.locator(".sc-feedback").is_hidden() and numeric.locator(".sc-check").is_enabled()
    numeric.locator("input").fill("")
    total, reread = 0.0, set()
    for fieldset in page.locator(".sc-paper:not([hidden]) .sc-q").all():
        q = mini_course.questions[fieldset.get_attribute("data-key").split("@")[0]]
        graded = check_and_compare(page, fieldset, mini_course, wrong_of(q))
        assert not graded.correct
        total += graded.score
        reread.add(fieldset.locator(".sc-source a").get_attribute("href"))
    percent = round(100 * total / 8)
    assert page.locator(".sc-score").inner_text() == (
        f"Finished: {round(total, 2):g} of 8 points ({percent} %); the pass mark is 70 %.")
    assert set(page.locator(".sc-reread a").evaluate_all("as => as.map(a => a.getAttribute('href'))")) == reread


def test_the_learners_choice_stays_plain_to_see_after_checking(context, mini, mini_course):
    page = open_page(context, mini / "book" / "01-alpha.html")
    for type_ in ("single", "multiple", "true_false"):
        fieldset = shown(page, type_)
        q = mini_course.questions[fieldset.get_attribute("data-key").split("@")[0]]
        check_and_compare(page, fieldset, mini_course, wrong_of(q))
        assert fieldset.locator("input").first.is_disabled()  # locked until "try again"
        chosen = fieldset.locator("input:checked")
        labels = chosen.evaluate_all("inputs => inputs.map(i => { const l = i.labels[0].cloneNode(true);"
                                     " l.querySelector('.sc-yours').remove(); return l.textContent.trim(); })")
        assert len(labels) == (2 if type_ == "multiple" else 1)
        for n, label in enumerate(labels):
            # the marker is part of the option's name: a screen reader says it with the option
            assert fieldset.get_by_role("radio" if type_ != "multiple" else "checkbox",
                                        name=f"{label} Your answer", exact=True).is_checked()
            marker = chosen.nth(n).locator("xpath=..").locator(".sc-yours")
            assert marker.is_visible() and marker.inner_text() == "Your answer"
            style = chosen.nth(n).evaluate(  # the disabled control is grey: the option around it is not
                "i => { const c = getComputedStyle(i.closest('.sc-choice')), l = getComputedStyle(i.labels[0]);"
                " return [c.outlineStyle, c.opacity, l.opacity, l.fontWeight]; }")
            assert style == ["solid", "1", "1", "700"]
        given = fieldset.locator(".sc-given")
        assert given.is_visible()
        assert sorted(given.inner_text().removeprefix("Your answer: ").split("; ")) == sorted(labels)
        unchosen = fieldset.locator(".sc-choice:not(.sc-chosen)")
        assert unchosen.count() and not unchosen.locator(".sc-yours").count()
        assert unchosen.first.evaluate("c => getComputedStyle(c).outlineStyle") == "none"
    single = shown(page, "single")  # answered wrongly above: the feedback names the right option
    assert single.locator(".sc-key").inner_text() == "The correct answer: Exploitation"
    # the source link names the section as the book numbers it, as the terminal quiz and the keys do
    assert single.locator(".sc-source a").inner_text() == "1 Alpha chapter › Act, means and purpose"


def test_keyboard_only_ordering_and_matching(context, mini, mini_course):
    page = open_page(context, mini / "book" / "01-alpha.html")
    page.locator("#sc-self-check-alpha").focus()  # the start; from here on only keys

    def tab_to(target) -> None:
        for _ in range(200):
            if target.evaluate("el => el === document.activeElement"):
                return
            before = target.evaluate("el => !!(el.compareDocumentPosition(document.activeElement) & 4)")
            page.keyboard.press("Shift+Tab" if before else "Tab")
        pytest.fail(f"Tab never reached {target}")

    ordering = shown(page, "ordering")
    n = ordering.locator(".sc-order li").count()
    for position in range(n):
        item = ordering.locator(f"li[data-index='{position}']")
        while (now := item.evaluate("li => [...li.parentNode.children].indexOf(li)")) > position:
            tab_to(item.locator(".sc-up"))
            page.keyboard.press("Enter")
            assert ordering.locator(".sc-live").inner_text() == f"{item.locator('.sc-item').inner_text()}: position {now} of {n}"
    tab_to(ordering.locator(".sc-check"))
    page.keyboard.press("Space")
    assert ordering.locator(".sc-verdict").inner_text().startswith("Correct")
    assert page.evaluate("document.activeElement.classList.contains('sc-feedback')")

    for fieldset in shown(page, "matching").all():
        for i, select in enumerate(fieldset.locator("select").all()):
            tab_to(select)
            values = select.evaluate("s => [...s.options].map(o => o.value)")
            for _ in range(values.index(str(i))):
                page.keyboard.press("ArrowDown")
            assert select.input_value() == str(i)
        tab_to(fieldset.locator(".sc-check"))
        page.keyboard.press("Enter")
        assert fieldset.locator(".sc-verdict").inner_text().startswith("Correct")
    name = ordering.locator(".sc-up").first.evaluate(
        "b => b.getAttribute('aria-labelledby').split(' ').map(id => document.getElementById(id).textContent).join(' ')")
    assert name == "Move up " + ordering.locator(".sc-item").first.inner_text()


def test_try_again_draws_the_next_paper_with_options_in_a_new_order(context, mini, mini_course):
    page = open_page(context, mini / "book" / "01-alpha.html")
    papers = len(SEEDS)
    assert f"There are {papers} papers of these questions: “Try again” shows the next one." in \
        page.locator(".sc-intro").inner_text()
    single = shown(page, "single")
    single.locator(".sc-check").click()
    assert single.locator(".sc-missing").inner_text() == "Choose an answer first."
    check_and_compare(page, single, mini_course, key_of(mini_course.questions["mini-single"]))

    def orders():
        return page.locator(".sc-paper:not([hidden])").evaluate(
            "p => [...p.querySelectorAll('.sc-q')].map(q => [...q.querySelectorAll('input[type=checkbox], .sc-order li')]"
            ".map(e => e.value || e.dataset.index).join())")

    seen = {tuple(orders())}
    for attempt in range(2, 8):
        paper = (attempt - 1) % papers  # 0-based: the paper this attempt shows
        # the button says which paper it brings, in its name (what a screen reader announces)
        page.get_by_role("button", name=f"Try again (paper {paper + 1} of {papers})", exact=True).click()
        assert page.locator(".sc-paper:not([hidden])").get_attribute("data-seed") == str(SEEDS[paper])
        assert page.locator(".sc-score").inner_text() == (
            f"Attempt {attempt}: paper {paper + 1} of {papers}, new questions, with the options in a new order.")
        assert page.locator(".sc-score").get_attribute("role") == "status"
        assert page.locator(".sc-again").inner_text() == f"Try again (paper {(paper + 1) % papers + 1} of {papers})"
        assert page.evaluate("document.activeElement.id") == "sc-self-check-alpha"
        single = shown(page, "single")
        assert single.locator(".sc-check").is_enabled() and single.locator(".sc-feedback").is_hidden()
        assert not single.locator("input:checked").count()
        assert not single.locator(".sc-yours, .sc-chosen").count()  # the last attempt's marks are gone
        seen.add(tuple(orders()))
    assert len(seen) > 1
    check_and_compare(page, single, mini_course, key_of(mini_course.questions["mini-single"]))  # still right


def test_progress_survives_a_reload_and_shows_in_the_chapter_list(context, mini, mini_course):
    beta = mini / "book" / "02-beta.html"
    page = open_page(context, beta)
    assert page.locator(".sc-record").is_hidden() and not page.locator(".sc-badge").count()
    for fieldset in page.locator(".sc-paper:not([hidden]) .sc-q").all():
        check_and_compare(page, fieldset, mini_course, key_of(mini_course.questions[fieldset.get_attribute("data-key").split("@")[0]]))
    page.reload()
    assert page.locator(".sc-record").inner_text() == "In this browser: best 100 %, last 100 % (1 attempt)."
    assert page.locator("nav.bd-docs-nav .sc-badge").inner_text() == "Practice self-check: best 100 %, last 100 %"
    page.locator(".sc-again").click()
    for fieldset in page.locator(".sc-paper:not([hidden]) .sc-q").all():  # all or nothing: 0 %
        check_and_compare(page, fieldset, mini_course, wrong_of(mini_course.questions[fieldset.get_attribute("data-key").split("@")[0]]))
    page.goto((mini / "book" / "01-alpha.html").as_uri())
    badge = page.locator("nav.bd-docs-nav li:has(> a[href='02-beta.html']) > .sc-badge")
    assert badge.inner_text() == "Practice self-check: best 100 %, last 0 %"


def axe_problems(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in found if v["impact"] in ("serious", "critical")]


def test_axe_finds_nothing_serious_on_the_self_check_with_feedback_shown(context, mini, mini_course):
    page = open_page(context, mini / "book" / "01-alpha.html")
    for fieldset in page.locator(".sc-paper:not([hidden]) .sc-q").all():
        q = mini_course.questions[fieldset.get_attribute("data-key").split("@")[0]]
        fill(fieldset, q, wrong_of(q))
        fieldset.locator(".sc-check").click()
    assert not axe_problems(page)


@pytest.mark.slow
def test_real_chapter_page_accessible_offline_and_its_feedback_leads_to_the_section(context, book, course):
    page = open_page(context, book / "book" / "04-facilitator.html")
    assert not axe_problems(page)
    first = page.locator(".sc-paper:not([hidden]) .sc-q").first
    q = course.questions[first.get_attribute("data-key").split("@")[0]]
    fill(first, q, wrong_of(q))
    first.locator(".sc-check").click()
    assert first.locator(".sc-verdict").inner_text().startswith(("Not correct", "Partly correct"))
    assert not axe_problems(page)
    first.locator(".sc-source a").click()
    page_name, anchor = q.source.split("#")
    page.wait_for_url(f"**/{page_name.removesuffix('.md')}.html#{anchor}")
    assert page.locator(f"[id='{anchor}']").count() == 1
