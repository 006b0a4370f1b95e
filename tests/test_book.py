"""The book build: both editions, the decks and the workbooks, built once from the real sources.

Texts are compared after normalising (lower case, every run of non-alphanumerics -> one space), so
that Markdown markup, smart quotes and line wrapping do not matter but the words do.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup
from docutils.nodes import make_id

from thbcourse.book import build
from thbcourse.book.myst import read_page
from thbcourse.book.objectives import heading_anchors, read_objectives, read_overviews
from thbcourse.book.plaintext import Plain
from thbcourse.book.slides import chapter_pages, deck_pages
from thbcourse.book.workbooks import ANSWER
from thbcourse.problems import AuthoringError

ROOT = Path(__file__).resolve().parents[1]
MINI = Path(__file__).parent / "books" / "mini"
HIDDEN = ("solution", "trainer-notes")  # blocks the student edition must not show


# --- reading sources and built pages -----------------------------------------------------------


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def toc_files(root: Path) -> list[str]:
    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def walk(entries):
        for entry in entries:
            yield entry["file"]
            yield from walk(entry.get("sections", []))

    return [toc["root"], *(f for part in toc["parts"] for f in walk(part["chapters"]))]


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def text_of(path: Path) -> str:
    return norm(soup(path).get_text(" "))


def public_text(root: Path) -> str:
    """What the student edition may legitimately say: every page of the toc outside solutions and
    trainer notes, and the question banks (the self-checks carry their stems and feedback)."""
    plain, parts = Plain(root), []
    for name in toc_files(root):
        page = read_page(root / f"{name}.md")
        hidden = [b for b in page.blocks if b.name in HIDDEN]
        parts.append(norm(plain("".join(line for n, line in enumerate(page.lines, 1)
                                        if not any(b.line <= n < b.end for b in hidden)))))
    parts += [norm(path.read_text(encoding="utf-8")) for path in sorted(root.glob("quizzes/banks/*.yml"))]
    return "\n".join(parts)


def fragments(root: Path, body: str, public: str) -> list[str]:
    """Lines of a block with at least four words that no public text of the course also says."""
    plain = Plain(root)
    # list markers are numbers the HTML draws, not text it contains
    found = [norm(plain(re.sub(r"^\s*(?:[-*+>]|\d+[.)])\s+", "", line))) for line in body.splitlines()]
    return [f for f in found if len(f.split()) >= 4 and f not in public]


def hidden_texts(root: Path) -> list[tuple[str, str, list[str]]]:
    """(source file, block name, fragments) for every solution and trainer-notes block in the toc."""
    result, public = [], public_text(root)
    for name in toc_files(root):
        path = root / f"{name}.md"
        for block in read_page(path).blocks:
            if block.name in HIDDEN:
                result.append((name, block.name, fragments(root, block.body, public)))
    return result


def all_text(folder: Path) -> str:
    """Every text file under folder, HTML by its visible text, the rest as it is."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".html":
            parts.append(text_of(path))
        elif path.suffix in (".js", ".css", ".txt", ".md", ".ipynb", ".json", ".inv") and path.is_file():
            parts.append(norm(path.read_text(encoding="utf-8", errors="replace")))
    return "\n".join(parts)


def make_mini(tmp: Path) -> Path:
    """The mini book with the real configuration and bibliography."""
    root = tmp / "mini"
    shutil.copytree(MINI, root)
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, root / name)
    return root


# --- builds (once for this module: every test of the real book shares them) ---------------------


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> tuple[Path, Path]:
    root = make_mini(tmp_path_factory.mktemp("mini"))
    folder = root / "_build"
    assert build.main(out=folder, root=root) == 0
    return root, folder


# --- the real book ------------------------------------------------------------------------------

@pytest.mark.slow
def test_build_passes_with_warnings_as_errors(built):
    code, _ = built
    assert code == 0


@pytest.mark.slow
@pytest.mark.parametrize("edition", ["trainer", "student"])
def test_every_toc_page_is_built(out, edition):
    missing = [f for f in toc_files(ROOT) if not (out / edition / "html" / f"{f}.html").is_file()]
    assert not missing


@pytest.mark.slow
def test_student_edition_hides_solutions_and_trainer_notes(out):
    trainer_pages = {}
    student = all_text(out / "student")
    checked = 0
    for name, kind, frags in hidden_texts(ROOT):
        trainer = trainer_pages.setdefault(name, text_of(out / "trainer" / "html" / f"{name}.html"))
        for frag in frags:
            assert frag in trainer, f"{name}.md: {kind} text missing from the trainer edition: {frag!r}"
            assert frag not in student, f"{name}.md: {kind} text leaks into the student edition: {frag!r}"
            checked += 1
    assert checked > 50  # the sources do have solutions and notes to check


@pytest.mark.slow
def test_decks(out):
    decks = [p.stem for p in deck_pages(ROOT)]
    assert len(decks) == 13  # eight chapters, five sections of chapter 4
    notes = {n: f for n, kind, f in hidden_texts(ROOT) if kind == "trainer-notes" and n.startswith("book/0")}
    for folder, with_notes in ((out / "slides", True), (out / "trainer/html/slides", True),
                               (out / "student/html/slides", False)):
        for deck in decks:
            html = soup(folder / f"{deck}.html")
            assert html.select(".reveal .slides section"), deck
            asides = html.select("aside.notes")
            assert bool(asides) == with_notes, f"{folder}/{deck}: speaker notes {'missing' if with_notes else 'present'}"
            if with_notes and f"book/{deck}" in notes:  # the chapter's trainer notes open the deck
                said = norm(" ".join(a.get_text(" ") for a in asides))
                assert all(f in said for f in notes[f"book/{deck}"]), deck
            scripts = [s["src"] for s in html.find_all("script", src=True)]
            reveal = [s for s in scripts if s.split("?")[0].endswith("revealjs/dist/reveal.js")]
            assert reveal and not urlsplit(reveal[0]).scheme, f"{deck}: reveal.js is not loaded from a relative path"
            assert (folder / reveal[0].split("?")[0]).is_file()
    # each chapter's title is on its deck, and its objectives in full in the notes
    for path in chapter_pages(ROOT):
        deck = text_of(out / "slides" / f"{path.stem}.html")
        assert norm(read_page(path).title) in deck
        for obj in (o for o in read_objectives(ROOT).values() if o.path == path):
            assert norm(obj.text) in deck


@pytest.mark.slow
def test_workbooks(out):
    solutions = {n: f for n, kind, f in hidden_texts(ROOT) if n.startswith("exercises/")}
    exercises = sorted(p.stem for p in (ROOT / "exercises").glob("*.md"))
    assert exercises
    for stem in exercises:
        tasks = len(read_page(ROOT / "exercises" / f"{stem}.md").blocks_named("exercise"))
        for edition in ("student", "trainer"):
            nb = nbformat.read(out / "workbooks" / edition / f"{stem}.ipynb", as_version=4)
            nbformat.validate(nb)
            sources = [c.source for c in nb.cells]
            text = norm("\n".join(sources))
            assert sum(s.startswith("### Task ") for s in sources) == tasks
            assert sources.count(ANSWER) == tasks
            assert nb.metadata.kernelspec.name == "python3" and nb.metadata.language_info.name == "python"
            assert norm("All names, numbers, addresses and events in this exercise are fictional.") in text
            assert "{cite" not in text and "{term}" not in "\n".join(sources)
            for frag in solutions.get(f"exercises/{stem}", []):
                assert (frag in text) == (edition == "trainer"), f"{edition} workbook {stem}: {frag!r}"


NETWORK = re.compile(r"^(https?:)?//", re.I)
CSS_NETWORK = re.compile(r"(url\(\s*['\"]?|@import\s+['\"])(https?:)?//", re.I)


@pytest.mark.slow
def pages(folder: Path):
    """Built pages; theme templates under _static (Jinja macros, not pages) are left out."""
    return (p for p in folder.rglob("*.html") if "_static" not in p.relative_to(folder).parts)


def test_nothing_is_loaded_from_the_network(out):
    bad, stylesheets = [], set()
    for path in pages(out):
        html = soup(path)
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("source", "src"),
                          ("iframe", "src"), ("video", "src"), ("audio", "src"), ("embed", "src")):
            bad += [f"{path}: <{tag} {attr}={el[attr]}>" for el in html.find_all(tag) if NETWORK.match(el.get(attr) or "")]
        bad += [f"{path}: <style> {m.group(0)}" for style in html.find_all("style") for m in CSS_NETWORK.finditer(style.text)]
        stylesheets |= {(path.parent / el["href"].split("?")[0]).resolve()
                        for el in html.find_all("link", rel="stylesheet", href=True) if not NETWORK.match(el["href"])}
    # fonts and images come through the stylesheets the pages load (and what those @import);
    # reveal.js ships themes that no deck loads and that would fetch Google Fonts
    seen = set()
    while stylesheets:
        css = stylesheets.pop()
        seen.add(css)
        text = css.read_text(errors="replace")
        bad += [f"{css}: {m.group(0)}" for m in CSS_NETWORK.finditer(text)]
        imports = re.findall(r"@import\s+(?:url\()?['\"]?([^'\")\s;]+)", text)
        stylesheets |= {(css.parent / i).resolve() for i in imports if not NETWORK.match(i)} - seen
    assert len(seen) > 10 and not bad, "\n".join(bad[:20])


@pytest.mark.slow
def test_internal_links_resolve(out):
    ids: dict[Path, set[str]] = {}
    broken = []
    for folder in (out / "trainer/html", out / "student/html", out / "slides"):
        for path in pages(folder):
            for el in soup(path).find_all(["a", "link", "script", "img"]):
                ref = el.get("href") or el.get("src")
                if not ref or NETWORK.match(ref) or re.match(r"^[a-z]+:", ref, re.I):
                    continue
                parts = urlsplit(ref)
                target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
                if not target.is_file():
                    broken.append(f"{path.relative_to(out)}: {ref} (no file)")
                elif parts.fragment and target.suffix == ".html" and not parts.fragment.startswith("/"):
                    if target not in ids:
                        ids[target] = {t["id"] for t in soup(target).find_all(id=True)}
                    if unquote(parts.fragment) not in ids[target]:
                        broken.append(f"{path.relative_to(out)}: {ref} (no such id)")
    assert not broken, "\n".join(broken[:30])


@pytest.mark.slow
def test_heading_anchors_agree_with_built_ids(out):
    for name in toc_files(ROOT):
        html = soup(out / "trainer" / "html" / f"{name}.html")
        ids = {t["id"] for t in html.find_all(id=True)}
        headed = {s["id"] for s in html.select("article section[id]")
                  if s.find(re.compile(r"^h[1-6]$"), recursive=False)}
        anchors = heading_anchors(ROOT / f"{name}.md")
        assert set(anchors) <= ids, f"{name}: anchors not in the page: {set(anchors) - ids}"
        assert headed <= set(anchors), f"{name}: headings the function misses: {headed - set(anchors)}"


@pytest.mark.slow
def test_objectives_are_rendered_and_exercises_link_to_them(out):
    objectives = read_objectives(ROOT)
    assert objectives
    for obj in objectives.values():
        page = out / "trainer" / "html" / obj.path.relative_to(ROOT).with_suffix(".html")
        item = soup(page).find(id=make_id(f"objective-{obj.id}"))
        assert item is not None and obj.id in item.get_text(), obj.id
    for stem, overview in read_overviews(ROOT).items():
        html = soup(out / "trainer" / "html" / "exercises" / f"{stem}.html")
        box = html.select_one(".exercise-overview")
        assert box is not None and norm("are fictional") in norm(box.get_text(" "))
        hrefs = {a["href"] for a in box.find_all("a", href=True)}
        for oid in overview.objectives:
            declared = objectives[oid].path.relative_to(ROOT).with_suffix(".html").as_posix()
            assert f"../{declared}#{make_id(f'objective-{oid}')}" in hrefs, (stem, oid)


@pytest.mark.slow
def test_chapter_resources_list_the_exercises_that_train_the_chapter(out):
    objectives, overviews = read_objectives(ROOT), read_overviews(ROOT)
    for path in chapter_pages(ROOT):
        mine = {o.id for o in objectives.values() if o.path == path}
        expected = {f"../exercises/{stem}.html" for stem, ov in overviews.items() if mine & set(ov.objectives)}
        box = soup(out / "trainer" / "html" / "book" / f"{path.stem}.html").select_one(".chapter-resources")
        assert box is not None, path.name
        links = {a["href"] for a in box.find_all("a", href=True)}
        assert {h for h in links if "/exercises/" in h} == expected, path.name
        assert f"../slides/{path.stem}.html" in links


@pytest.mark.slow
def test_classroom_activities_and_the_rubric_are_in_both_editions(out):
    from thbcourse.bank.course import load_course
    from thbcourse.book.objectives import read_activities

    activities = read_activities(ROOT)
    assert activities
    for edition in ("trainer", "student"):
        for activity in activities:
            page = soup(out / edition / "html" / activity.path.relative_to(ROOT).with_suffix(".html"))
            titles = [norm(b.select_one(".admonition-title").get_text(" ")) for b in page.select(".classroom-activity")]
            assert norm(f"Classroom activity: {activity.title}") in titles, (edition, activity.title)
        for rubric in load_course().rubrics.values():
            page = soup(out / edition / "html" / Path(rubric.exercise).with_suffix(".html"))
            table = page.select_one("table.rubric")
            assert table is not None, (edition, rubric.id)
            text = norm(table.get_text(" "))
            for criterion in rubric.criteria:
                assert norm(criterion.title) in text and all(norm(lv.descriptor) in text for lv in criterion.levels)
            assert norm(f"Total {rubric.max_points:g}") in text


# --- the mini book: anchors, messages, failures ------------------------------------------------------


def test_mini_heading_anchors(mini):
    root, folder = mini
    anchors = heading_anchors(root / "book" / "01-alpha.md")
    expected = {"ch-alpha", "alpha-chapter", "act-means-and-purpose", "case-anna-s-job-offer",
                "siena-jit-and-the-eio", "changes-to-the-law", "alpha-label", "facade-sites-escort-pages-more",
                "key-points", "discussion-questions", "exercises-slides-and-self-check"}
    assert expected <= set(anchors)
    assert anchors["case-anna-s-job-offer"] == 14
    ids = {t["id"] for t in soup(folder / "trainer/html/book/01-alpha.html").find_all(id=True)}
    assert set(anchors) <= ids


def test_mini_section_page_gets_its_chapters_exercises_and_deck(mini):
    _, folder = mini
    box = soup(folder / "trainer/html/book/01-1-alpha-detail.html").select_one(".chapter-resources")
    links = {a["href"] for a in box.find_all("a", href=True)}
    assert links == {"../exercises/ex01-one.html", "../slides/01-alpha.html"}
    beta = soup(folder / "trainer/html/book/02-beta.html").select_one(".chapter-resources")
    assert "No exercise trains these objectives." in beta.get_text()


def test_mini_editions_and_plain_citations(mini):
    _, folder = mini
    trainer = text_of(folder / "trainer/html/book/01-alpha.html")
    student = all_text(folder / "student")
    for marker in ("alpha notes", "one solution", "one notes", "alpha debrief"):
        assert marker in all_text(folder / "trainer")
        assert marker not in student
    for edition in ("trainer", "student"):  # an activity is for the whole class
        box = soup(folder / edition / "html/book/01-alpha.html").select_one(".classroom-activity")
        assert box is not None and "alpha activity" in norm(box.get_text(" "))
        assert norm("Classroom activity: Spot the act") in norm(box.get_text(" "))
        assert {a["href"] for a in box.find_all("a", href=True)} == {"#objective-alpha-first", "#objective-alpha-second"}
    assert "europol 2014 key trends" in trainer
    references = soup(folder / "trainer/html/book/appendix-references.html").get_text(" ")
    assert "Directive 2011/36/EU of the European Parliament and of the Council of 5 April 2011" in references  # case kept
    deck = soup(folder / "slides" / "01-alpha.html")
    tags = [t.get_text(" ", strip=True) for t in deck.select(".source-tag")]
    assert tags == ["Europol 2014, Key trends; Dir. 2011/36/EU, Art. 2", "UNODC 2020"]  # short tags on slides
    sources = deck.select(".reveal .slides > section")[-1]
    assert sources.find("h1").get_text() == "Sources"
    assert "United Nations Office on Drugs and Crime (2020)" in sources.get_text(" ")  # and in full at the end
    notes = [a.get_text(" ", strip=True) for a in deck.select("aside.notes")]
    assert len(notes) == len(deck.select(".reveal .slides > section")) and all(notes)
    assert "ALPHA-OPENING" in notes[0] and "ALPHA-NOTES" in notes[0]  # opening notes, then the trainer notes


def _fails(tmp_path, capsys, edit) -> str:
    root = make_mini(tmp_path)
    edit(root)
    assert build.main(out=root / "_build", only=("trainer",), root=root) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return captured.err


def test_unknown_objective_in_an_exercise_fails_with_file_and_line(tmp_path, capsys):
    def edit(root):
        page = root / "exercises" / "ex01-one.md"
        page.write_text(page.read_text().replace("[alpha.first]", "[alpha.frist]"))

    err = _fails(tmp_path, capsys, edit)
    assert "ex01-one.md:4" in err and "'alpha.frist' is not declared" in err and "alpha.first" in err


def test_duplicate_objective_fails_with_file_and_line(tmp_path, capsys):
    def edit(root):
        page = root / "book" / "01-alpha.md"
        page.write_text(page.read_text().replace("alpha.second:", "alpha.first:"))

    err = _fails(tmp_path, capsys, edit)
    assert "01-alpha.md:6" in err and "duplicate key 'alpha.first'" in err


def test_bad_objectives_yaml_fails_with_file_and_line(tmp_path, capsys):
    def edit(root):
        page = root / "book" / "02-beta.md"
        page.write_text(page.read_text().replace("beta.only: Plan the beta thing.", "beta.only: Plan: the [beta thing."))

    err = _fails(tmp_path, capsys, edit)
    assert "02-beta.md:4" in err and "YAML" in err


def test_a_deck_slide_without_notes_fails_the_build_with_its_line(tmp_path, capsys):
    root = make_mini(tmp_path)
    deck = root / "book" / "slides" / "01-alpha.md"
    deck.write_text(deck.read_text().replace("```{notes}\nLet pairs answer. Timing: 3 minutes.\n```\n", ""))
    assert build.main(out=root / "_build", only=("slides",), root=root) == 1
    err = capsys.readouterr().err
    assert "book/slides/01-alpha.md:34:1: slide 'Discussion' needs exactly one non-empty ```{notes}``` block" in err
    assert "Traceback" not in err


def test_maths_is_refused(tmp_path, capsys):
    def edit(root):
        page = root / "book" / "02-beta.md"
        page.write_text(page.read_text() + "\n```{math}\nx^2\n```\n")

    assert "maths is not supported" in _fails(tmp_path, capsys, edit)


# --- reading pages and objectives without Sphinx ---------------------------------------------------


def test_page_reader_parses_like_the_book():
    from thbcourse.book.myst import EXTENSIONS

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert set(config["parse"]["myst_enable_extensions"]) == EXTENSIONS



def _book(tmp_path: Path, **pages: str) -> Path:
    for name, text in pages.items():
        (tmp_path / "book").mkdir(exist_ok=True)
        (tmp_path / "book" / f"{name}.md").write_text(text)
    return tmp_path


def test_read_objectives(tmp_path):
    root = _book(tmp_path, a="# A\n\n```{learning-objectives}\nx.one: First.\nx.two: Second\n  line.\n```\n")
    found = read_objectives(root)
    assert list(found) == ["x.one", "x.two"]
    assert (found["x.two"].text, found["x.two"].line, found["x.one"].path.name) == ("Second line.", 5, "a.md")


@pytest.mark.parametrize("body, line, message", [
    ("x.one: A.\nx.one: B.\n", 5, "duplicate key 'x.one'"),
    ("x.one: A.\nx.two: a: b\n", 5, "YAML syntax error"),
    ("Bad Id: A.\n", 4, "must look like 'chapter.objective-name'"),
    ("x.one:\n", 4, "needs a text"),
])
def test_read_objectives_reports_file_and_line(tmp_path, body, line, message):
    root = _book(tmp_path, a=f"# A\n\n```{{learning-objectives}}\n{body}```\n")
    with pytest.raises(AuthoringError) as err:
        read_objectives(root)
    (problem,) = err.value.problems
    assert problem.path.endswith("a.md") and problem.line == line and message in problem.message


def test_objective_declared_twice_across_pages(tmp_path):
    block = "```{learning-objectives}\nx.one: A.\n```\n"
    root = _book(tmp_path, a=f"# A\n\n{block}", b=f"# B\n{block}")
    with pytest.raises(AuthoringError, match=r"b\.md:3:1: objective 'x.one' is already declared at .*a\.md:4"):
        read_objectives(root)


@pytest.mark.slow
def test_every_question_source_resolves_to_a_heading_in_the_built_book(out):
    from thbcourse.bank.course import load_course

    course = load_course([ROOT / "quizzes"], book_root=ROOT)
    ids_by_page: dict[str, set[str]] = {}
    missing = []
    for q in course.questions.values():
        page, _, anchor = q.source.partition("#")
        html = out / "student" / "html" / page.replace(".md", ".html")
        if page not in ids_by_page:
            ids_by_page[page] = {t["id"] for t in soup(html).select("section[id]")} if html.is_file() else set()
        if anchor not in ids_by_page[page]:
            missing.append(f"{q.id}: {q.source}")
    assert not missing, "\n".join(missing)
