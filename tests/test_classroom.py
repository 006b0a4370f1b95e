"""What a trainer puts in front of a class: figures drawn from text, decks a lesson can be taught from,
the trainer edition that cannot be mistaken for the student one, tasks numbered per exercise, and the
book on a phone. The built book comes from test_book's module fixture (built once); the browser tests
drive Debian's Chromium.
"""
from __future__ import annotations

import re
import shutil
import statistics
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from thbcourse.book import slides
from thbcourse.book.figures import check_all, figure_html, load_figure, render
from thbcourse.book.objectives import read_overviews
from thbcourse.book.plaintext import Plain
from thbcourse.problems import AuthoringError

from conftest import REPO
from test_book import soup, toc_files



# --- figures ---------------------------------------------------------------------------------------------

FIGURE = {
    "title": "Two steps", "alt": "Two boxes joined by an arrow: an advert leads to a check of the indicators.",
    "nodes": [{"id": "advert", "label": "Advert", "row": 0, "col": 0, "text": ["Flagged, not proven"]},
              {"id": "check", "label": "Check", "row": 0, "col": 1}],
    "edges": [{"from": "advert", "to": "check", "label": "then"}],
}


def write_figure(tmp_path, data) -> Path:
    path = tmp_path / "book" / "figures" / "two-steps.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_figure_is_an_accessible_inline_svg(tmp_path):
    write_figure(tmp_path, FIGURE)
    html = figure_html(tmp_path, "two-steps")
    svg = BeautifulSoup(html, "html.parser").find("svg")
    assert svg["role"] == "img" and svg["aria-labelledby"] == "fig-two-steps-title fig-two-steps-desc"
    assert svg.find("title").get_text() == "Two steps" and svg.find("desc").get_text() == FIGURE["alt"]
    texts = [t.get_text() for t in svg.find_all("text")]
    assert "Advert" in texts and "Flagged, not proven" in texts and "then" in texts
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch


def test_boxes_grow_with_their_text_and_arrows_stop_at_the_box_edges(tmp_path):
    long = {**FIGURE, "nodes": [{**FIGURE["nodes"][0], "text": ["word " * 40]}, FIGURE["nodes"][1]]}
    short_svg, long_svg = (BeautifulSoup(render(load_figure(write_figure(tmp_path, data)), "f"), "html.parser")
                           for data in (FIGURE, long))
    height = lambda svg: float(svg.select_one("g.node rect")["height"])  # noqa: E731
    assert height(long_svg) > 2 * height(short_svg)
    line, first = short_svg.find("line"), short_svg.select("g.node rect")
    assert float(line["x1"]) == pytest.approx(float(first[0]["x"]) + float(first[0]["width"]), abs=0.2)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["edges"].append({"from": "advert", "to": "nowhere"}), "arrow to 'nowhere': no node has that id"),
    (lambda d: d["nodes"].append({"id": "clash", "label": "X", "row": 0, "col": 1}), "node 'clash' overlaps 'check'"),
    (lambda d: d.update(alt="Too short"), "'alt' must have at least 40 characters"),
    (lambda d: d["nodes"][0].update(colour="red"), "unknown field 'colour'; did you mean 'col'?"),
])
def test_a_broken_figure_is_reported_with_file_and_line(tmp_path, change, message):
    data = yaml.safe_load(yaml.safe_dump(FIGURE))
    change(data)
    write_figure(tmp_path, data)
    problems = check_all(tmp_path)
    assert problems and any(message in p.message for p in problems), [str(p) for p in problems]
    assert all(p.path.endswith("two-steps.yml") and p.line >= 1 for p in problems)


def test_every_figure_of_the_course_is_valid_and_used():
    assert check_all(REPO) == []
    names = {p.stem for p in (REPO / "book" / "figures").glob("*.yml")}
    used = set()
    for path in [*REPO.glob("book/*.md"), *REPO.glob("book/slides/*.md"), *REPO.glob("exercises/*.md")]:
        used |= set(re.findall(r"```\{course-figure\} ([a-z0-9-]+)", path.read_text(encoding="utf-8")))
    assert names and names <= used, f"figures nobody shows: {sorted(names - used)}"
    assert used <= names, f"figures that do not exist: {sorted(used - names)}"


# --- decks: the rules, on a small deck -----------------------------------------------------------------------

def small_deck(tmp_path: Path, slide_body: str, notes: str = "Say this. Timing: 2 minutes.") -> Path:
    shutil.copy(REPO / "references.bib", tmp_path / "references.bib")
    (tmp_path / "book" / "slides").mkdir(parents=True)
    (tmp_path / "book" / "05-x.md").write_text("# Page X\n\n```{trainer-notes}\nX notes.\n```\n")
    notes_block = f"```{{notes}}\n{notes}\n```\n" if notes else ""
    (tmp_path / "book" / "slides" / "05-x.md").write_text(
        f"---\nminutes: 10\n---\n\n# First slide\n\n{slide_body}\n\n{notes_block}")
    return tmp_path / "book" / "05-x.md"


def test_a_deck_gets_short_source_tags_a_title_and_a_sources_slide(tmp_path):
    page = small_deck(tmp_path, "- One act, one means, one purpose {cite:p}`directive2011{Art. 2(1)}`")
    made = slides.deck(tmp_path, page, Plain(tmp_path), slides.Bibliography(tmp_path))
    assert [s.kind for s in made] == ["title", "content", "sources"]
    assert made[1].tags == ["Dir. 2011/36/EU, Art. 2(1)"] and "cite" not in made[1].body
    assert "X notes." in made[0].notes
    assert "Sources: European Parliament" in made[1].notes  # the full reference, for the speaker
    assert "Directive 2011/36/EU of the European Parliament" in made[2].body
    assert all(s.notes for s in made)


@pytest.mark.parametrize("body, notes, message", [
    (" ".join(["word"] * 41), "Fine.", "has 41 words; at most 40"),
    ("\n".join(f"- point {i}" for i in range(7)), "Fine.", "has 7 bullets; at most 6"),
    ("- point", "", "needs exactly one non-empty ```{notes}``` block"),
    ("- point {cite:p}`nowhere2020`", "Fine.", "no entry 'nowhere2020' in references.bib"),
    ("```{admonition} Box\nText\n```", "Fine.", "may hold only 'notes' and 'course-figure' blocks"),
])
def test_a_slide_over_the_limits_or_without_notes_stops_the_build(tmp_path, body, notes, message):
    page = small_deck(tmp_path, body, notes)
    with pytest.raises(AuthoringError) as caught:
        slides.deck(tmp_path, page, Plain(tmp_path), slides.Bibliography(tmp_path))
    assert re.search(r"book/slides/05-x\.md:\d+:1: .*" + re.escape(message), str(caught.value))


# --- decks: the course's own ------------------------------------------------------------------------------------

def deck_slides(path: Path) -> list:
    return soup(path).select(".reveal .slides > section")


def slide_words(section) -> int:
    section = BeautifulSoup(str(section), "html.parser")
    for drop in section.select("aside.notes, figure, .source-tag, h1"):
        drop.decompose()
    return len(re.findall(r"[\w'’-]+", section.get_text(" ")))


@pytest.mark.slow
def test_every_deck_teaches_its_lesson(out):
    figures = 0
    report = []
    for page in slides.deck_pages(REPO):
        meta = yaml.safe_load((REPO / "book" / "slides" / page.name).read_text().split("---")[1])
        sections = deck_slides(out / "slides" / f"{page.stem}.html")
        minutes = meta["minutes"]
        assert minutes / 4 <= len(sections) <= minutes / 2, (page.name, len(sections), minutes)
        words = []
        for section in sections:
            title = section.find("h1").get_text(" ", strip=True)
            assert section.select("aside.notes") and section.select_one("aside.notes").get_text(strip=True), (page.name, title)
            kind_sources = title == "Sources"
            n = slide_words(section)
            if not kind_sources:
                assert n <= slides.MAX_WORDS, (page.name, title, n)
                words.append(n)
            for svg in section.select("svg"):
                figures += 1
                assert svg.get("role") == "img" and svg.find("desc").get_text(strip=True), (page.name, title)
        titles = [s.find("h1").get_text(" ", strip=True) for s in sections]
        if slides.CHAPTER.match(page.name):
            assert any(t.startswith("Case") for t in titles), page.name
            assert any(t.startswith("Discussion") for t in titles), page.name
            assert slides.OBJECTIVES in titles, page.name
        report.append((page.stem, len(sections), max(words), statistics.median(words)))
    assert figures >= 8
    assert len(report) == 13  # eight chapters and the five sections of chapter 4
    print("\ndeck, slides, max words, median words:", *report, sep="\n  ")


@pytest.mark.slow
def test_student_decks_have_no_notes_and_every_chapter_page_links_its_deck(out):
    for page in slides.deck_pages(REPO):
        html = soup(out / "student" / "html" / "slides" / f"{page.stem}.html")
        assert html.select(".reveal .slides > section") and not html.select("aside.notes"), page.stem
        book_page = soup(out / "trainer" / "html" / "book" / f"{page.stem}.html")
        assert book_page.select_one(f'a.slide-deck[href="../slides/{page.stem}.html"]'), page.stem
    for html in (out / "slides").rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "user-scalable=no" not in text and "maximum-scale" not in text, html.name
    themes = {p.name for p in (out / "slides" / "_static" / "revealjs" / "dist" / "theme").glob("*.css")}
    assert themes == {f"{slides.THEME}.css"}


# --- the book in class ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_figures_appear_in_the_book_with_their_text_alternative(out):
    count = 0
    for name in toc_files(REPO):
        for svg in soup(out / "student" / "html" / f"{name}.html").select("figure.course-figure svg"):
            assert svg["role"] == "img" and len(svg.find("desc").get_text(strip=True)) >= 40, name
            count += 1
    assert count >= 8


@pytest.mark.slow
def test_the_trainer_edition_cannot_be_mistaken_for_the_student_edition(out):
    for name in toc_files(REPO):
        trainer = soup(out / "trainer" / "html" / f"{name}.html")
        student = soup(out / "student" / "html" / f"{name}.html")
        assert "Trainer edition: contains solutions" in trainer.select_one(".bd-header-announcement").get_text(), name
        assert student.select_one(".trainer-banner") is None, name
        assert not student.select("code.objective-id"), name  # ids are for trainers and reports
        assert "are fictional" in student.select_one(".extra_footer").get_text(" "), name
    answers = soup(out / "trainer" / "html" / "exercises" / "ex10-legal-elements.html").select("div.trainer-only")
    assert answers and all(a.select_one(".admonition-title").get_text().startswith("Model answer to Task 10.")
                           for a in answers)
    assert soup(out / "trainer" / "html" / "book" / "02-legal-frame.html").select("code.objective-id")


@pytest.mark.slow
def test_tasks_are_numbered_per_exercise_in_the_book_and_the_workbooks(out):
    import nbformat

    for stem, _ in read_overviews(REPO).items():
        number = int(stem[2:4])
        titles = [t.get_text(" ", strip=True) for t in
                  soup(out / "student" / "html" / "exercises" / f"{stem}.html").select("div.exercise > .admonition-title")]
        assert titles and [t.split()[1] for t in titles] == [f"{number}.{k}" for k in range(1, len(titles) + 1)], stem
        assert not any(re.match(r"Exercise \d", t) for t in titles)
        notebook = nbformat.read(out / "workbooks" / "student" / f"{stem}.ipynb", as_version=4)
        tasks = [c.source.splitlines()[0] for c in notebook.cells if c.source.startswith("### Task ")]
        assert [t.split()[2].rstrip(":") for t in tasks] == [f"{number}.{k}" for k in range(1, len(titles) + 1)], stem
        assert not re.search(r"`[a-z0-9-]+\.[a-z0-9.-]+`", notebook.cells[1].source), stem  # no objective ids


@pytest.mark.slow
def test_the_home_page_lists_the_chapters_and_exercises_and_the_plan_links_have_titles(out):
    home = soup(out / "student" / "html" / "book" / "index.html")
    links = {a["href"] for a in home.select(".toctree-wrapper a[href]")}
    assert "02-legal-frame.html" in links and "../exercises/ex10-legal-elements.html" in links
    guide = soup(out / "trainer" / "html" / "book" / "appendix-trainer-guide.html")
    texts = [a.get_text(" ", strip=True) for a in guide.select('a[href*="exercises/ex"]')]
    assert texts and not any(re.fullmatch(r"ex\d\d-[a-z0-9-]+", t) for t in texts)


# --- in Chromium ------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("width, height", [(390, 844), (768, 1024)])
def test_the_chapter_menu_works_on_a_phone_and_a_tablet(out, browser, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto((out / "student" / "html" / "book" / "02-legal-frame.html").as_uri())
    visible = [b for b in page.locator(".primary-toggle").all() if b.is_visible()]
    assert len(visible) == 1
    visible[0].click()
    dialog = page.locator("dialog#pst-primary-sidebar-modal")
    dialog.wait_for(state="visible")
    dialog.get_by_role("link", name=re.compile("Key trends")).click()
    page.wait_for_url(re.compile(r"03-key-trends\.html"))
    contents = [b for b in page.locator(".secondary-toggle").all() if b.is_visible()]
    assert contents
    contents[0].click()
    page.locator("dialog#pst-secondary-sidebar-modal").wait_for(state="visible")
    page.close()


@pytest.mark.slow
def test_no_built_page_or_deck_asks_the_network_for_anything(out, browser):
    pages = [out / "trainer" / "html" / f"{name}.html" for name in toc_files(REPO)]
    pages += [out / "student" / "html" / "search.html"]
    pages += sorted((out / "slides").glob("*.html"))
    context = browser.new_context()
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    for path in pages:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
    page.goto((out / "student" / "html" / "search.html").as_uri() + "?q=recruitment")
    page.wait_for_selector("#search-results li", timeout=8000)
    context.close()
    remote = sorted({u for u in asked if not u.startswith(("file:", "data:", "blob:", "about:"))})
    assert remote == []
    assert errors == []


@pytest.mark.slow
def test_the_trainer_banner_shows_on_screen_and_a_deck_reads_from_the_back(out, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto((out / "trainer" / "html" / "book" / "02-legal-frame.html").as_uri())
    assert page.locator(".trainer-banner").is_visible()
    page.goto((out / "student" / "html" / "book" / "02-legal-frame.html").as_uri())
    assert page.locator(".trainer-banner").count() == 0
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto((out / "slides" / "02-legal-frame.html").as_uri() + "#/2")
    page.wait_for_timeout(500)
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.reveal .slides section.present li, "
                         ".reveal .slides section.present p')).fontSize)")
    assert size >= 28
    box = page.locator(".reveal .slides section.present h1").bounding_box()
    assert box and box["height"] > 30 and box["y"] < 200  # the slide is drawn, not collapsed
    page.close()


@pytest.mark.slow
def test_axe_finds_nothing_serious_on_pages_and_decks(out, browser):
    axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    found = []
    targets = [out / "student" / "html" / "book" / "index.html", out / "trainer" / "html" / "book" / "02-legal-frame.html",
               out / "trainer" / "html" / "exercises" / "ex12-awareness-campaign.html",
               out / "slides" / "02-legal-frame.html"]
    for path in targets:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        for v in axe_api.Axe().run(page).response["violations"]:
            if v["impact"] in ("serious", "critical") or v["id"] in ("region", "landmark-one-main", "meta-viewport"):
                found.append(f"{path.name}: {v['id']} ({v['impact']}) at {[n['target'] for n in v['nodes']][:3]}")
    page.close()
    assert found == []
