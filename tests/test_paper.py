"""Paper exams: the PDF papers, their answer sheets, and reading scans of them back.

Sheets are rendered from the real PDFs, marked with pen-like strokes (thbcourse.paper.simulate),
degraded as a scanner would (rotation up to 3 degrees, shift, skew, noise, JPEG) and read back. On
clean scans every mark must be read; on degraded ones a sheet is read correctly or sent to review,
never read wrongly.
"""
from __future__ import annotations

import csv
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from thbcourse.bank.course import load_course
from thbcourse.cli import main
from thbcourse.engine.draw import draw
from thbcourse.paper import simulate as sim
from thbcourse.paper.collect import Papers, _assemble, review_rows
from thbcourse.paper.layout import BOX, FORMATS, MARK, PITCH, LayoutError, layout, points_labels, read_code
from thbcourse.deliveries.papers import choices
from thbcourse.paper.render import HOW, paper_pdf
from thbcourse.paper.scan import State, _ink, _warp, read_box, read_page

from conftest import DATA, REPO


@pytest.fixture(scope="module")
def course():
    return load_course([REPO / "quizzes"], book_root=None)


@pytest.fixture(scope="module")
def sample():
    return load_course([DATA / "quizzes"], book_root=None)


def _pdf_pages(pdf: bytes) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in doc]
    finally:
        doc.close()


def _page_size_mm(pdf: bytes) -> tuple[float, float]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    w, h = doc[0].get_size()
    doc.close()
    return w / 72 * 25.4, h / 72 * 25.4


# --- the printed paper -------------------------------------------------------------------------------

@pytest.mark.parametrize("quiz,seed,fmt,learner", [("exam", 4, "a4", None), ("pre-test", 2, "letter", "OFC-7")])
def test_every_page_names_quiz_seed_learner_box_and_page_of_pages(course, quiz, seed, fmt, learner):
    paper = draw(course, course.blueprint(quiz), seed)
    pdf = paper_pdf(paper, fmt, learner)
    pages = _pdf_pages(pdf)
    assert _page_size_mm(pdf) == pytest.approx(FORMATS[fmt], abs=0.5)
    sheet_pages = len(layout(paper, fmt, learner).pages)
    assert len(pages) > sheet_pages
    for n, text in enumerate(pages, 1):
        assert f"page {n} of {len(pages)}" in text
        assert f"quiz {quiz}" in text.lower() and f"seed {seed}" in text
        assert "Learner id" in text
        if learner:
            assert learner in text
    assert all(f"Answer sheet {k} of {sheet_pages}" in pages[-sheet_pages + k - 1] for k in range(1, sheet_pages + 1))


def test_no_question_is_split_across_pages_and_each_says_how_to_mark(course):
    paper = draw(course, course.blueprint("exam"), 9)
    pages = _pdf_pages(paper_pdf(paper))
    questions = [p for p in pages if "Answer sheet" not in p]
    flat = [re.sub(r"\s+", " ", p) for p in questions]
    for item in paper.items:
        holding = [n for n, text in enumerate(flat) if f"Question {item.number} (" in text]
        assert len(holding) == 1, f"question {item.number} heading found on pages {holding}"
        page = flat[holding[0]]
        last_words = " ".join(re.sub(r"\*+|`", "", item.question.stem).split()[-3:])  # as rendered: no Markdown marks
        assert last_words in page
        assert HOW[item.question.type] in page
        label, last_choice = choices(item)[-1]
        if label:  # the whole question on one page, down to its last option
            assert " ".join(last_choice.split()[-3:]) in page


def test_sheet_has_a_row_of_boxes_for_every_kind_of_question(sample, course):
    paper = draw(sample, sample.blueprint("sample-quiz"), 1)
    sheet = layout(paper)
    blocks = {b.item.question.type: b for page in sheet.pages for b in page.blocks}
    q = {b.item.question.type: b.item for b in blocks.values()}
    assert [b.label for b in blocks["true_false"].rows[0][1]] == ["T", "F"]
    assert len(blocks["matching"].rows) == len(q["matching"].question.pairs)  # a row per left item
    assert [b.label for b in blocks["matching"].rows[0][1]] == list("ABCDEFG"[:len(q["matching"].order)])
    assert [label for label, _ in blocks["ordering"].rows][:3] == ["1st", "2nd", "3rd"]  # a row per position
    for kind in ("short_answer", "numeric"):
        assert blocks[kind].write is not None  # a box to write in, and the trainer's point boxes
        assert [b.label for b in blocks[kind].rows[0][1]] == ["0", "1"]
    assert points_labels(1.5) == ["0", "0.5", "1", "1.5"] and points_labels(2) == ["0", "1", "2"]


@pytest.mark.parametrize("quiz", ["exam", "pre-test", "post-test", "practice"])
def test_boxes_keep_clear_of_each_other_of_the_marks_and_of_the_page_edge(course, quiz):
    for fmt in FORMATS:
        sheet = layout(draw(course, course.blueprint(quiz), 1), fmt)
        w, h = sheet.size
        boxes = [(p.number, b) for p in sheet.pages for bl in p.blocks for _, row in bl.rows for b in row]
        boxes += [(1, b) for _, row in sheet.id_rows for b in row]
        for page in sheet.pages:
            xy = np.array([(b.x, b.y) for n, b in boxes if n == page.number])
            d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
            np.fill_diagonal(d, np.inf)
            assert d.min() >= PITCH - 1e-6
            for mx, my in sheet.marks():
                assert np.hypot(xy[:, 0] - mx, xy[:, 1] - my).min() > MARK + BOX
            assert xy[:, 0].min() > 15 and xy[:, 0].max() < w - 15 and xy[:, 1].max() < h - 20


def test_a_row_too_wide_for_the_sheet_is_refused_with_the_question(sample):
    paper = draw(sample, sample.blueprint("sample-quiz"), 1)
    item = next(i for i in paper.items if i.question.type == "ordering")
    wide = type(item)(item.number, item.section, item.question, item.points, tuple(range(12)))
    with pytest.raises(LayoutError, match=rf"question {item.number} .*12 choices"):
        layout(type(paper)(paper.blueprint, paper.seed, (wide,)))


def test_qr_code_round_trips_and_foreign_codes_are_ignored(course):
    sheet = layout(draw(course, course.blueprint("exam"), 5), "letter", "OFC-1", 4)
    code = read_code(sheet.code(2))
    assert (code.quiz, code.seed, code.page, code.pages, code.fmt, code.id_digits, code.learner) == (
        "exam", 5, 2, len(sheet.pages), "letter", 4, "OFC-1")
    assert read_code("https://example.org") is None and read_code("THBC1|exam|x|1/2|a4|6|-|00") is None


# --- reading scans -----------------------------------------------------------------------------------

def _sheet_images(course, quiz, seed, *, dpi, rng, learner=None, digits="", degraded=False, cancel_rate=0.15,
                  faint=0):
    paper = draw(course, course.blueprint(quiz), seed)
    sheet = layout(paper, learner=learner)
    marking = sim.random_marking(sheet, rng, learner_digits=digits, cancel_rate=cancel_rate)
    for _ in range(faint):  # a half-hearted mark on a box that is otherwise empty
        page = rng.choice(sheet.pages)
        taken = {(p, b) for p, b in marking.fills + marking.cancels}
        empty = [b for bl in page.blocks for _, row in bl.rows for b in row if (page.number, b) not in taken]
        marking.faint.append((page.number, rng.choice(empty)))
    images = []
    for n, img in enumerate(sim.render_pages(paper_pdf(paper, learner=learner), dpi, len(sheet.pages)), 1):
        img = sim.draw_marking(img, marking, n, dpi, rng)
        images.append(sim.degrade(img, rng) if degraded else img)
    return sheet, marking, images


def _read(course, quiz, sheet, images):
    papers = Papers(course, quiz)
    return [read_page(img, "scan.png", n, papers.sheet_for) for n, img in enumerate(images, 1)]


def _verdict(reads, marking) -> str:
    """read (everything as marked), review (something sent to the trainer) or wrong."""
    if any(r.problem or r.unclear for r in reads):
        return "review"
    answers = {k: v for r in reads for k, v in r.answers.items()}
    awarded = {k: v for r in reads for k, v in r.awarded.items()}
    learner = reads[0].learner
    ok = answers == marking.answers and awarded == marking.awarded and learner == (marking.learner or learner)
    return "read" if ok else "wrong"


CLEAN = [("exam", 1, 150), ("exam", 2, 200), ("exam", 3, 300), ("pre-test", 4, 150), ("post-test", 5, 200),
         ("practice", 6, 300), ("self-check-legal-frame", 7, 200)]


@pytest.mark.parametrize("quiz,seed,dpi", CLEAN)
def test_clean_scans_are_read_completely(course, quiz, seed, dpi):
    rng = random.Random(seed)
    sheet, marking, images = _sheet_images(course, quiz, seed, dpi=dpi, rng=rng, digits=f"{seed:06d}", cancel_rate=0.35)
    reads = _read(course, quiz, sheet, images)
    assert [r.problem for r in reads] == [""] * len(reads)
    assert {k: v for r in reads for k, v in r.unclear.items()} == {}
    assert {k: v for r in reads for k, v in r.answers.items()} == marking.answers
    assert {k: v for r in reads for k, v in r.awarded.items()} == marking.awarded
    assert reads[0].learner == f"{seed:06d}"
    assert marking.cancels, "the set must include corrections (filled, then circled)"


def test_every_kind_of_question_is_read_from_a_clean_scan(sample):
    for seed in range(1, 4):
        rng = random.Random(seed)
        sheet, marking, images = _sheet_images(sample, "sample-quiz", seed, dpi=200, rng=rng, learner="OFC-1")
        reads = _read(sample, "sample-quiz", sheet, images)
        assert _verdict(reads, marking) == "read"
        assert reads[0].learner == "OFC-1"


def test_degraded_scans_are_read_or_sent_to_review_never_read_wrongly(course):
    """The figures of the closing note: 36 degraded sheets, 6 of them with a half-filled box."""
    counts = {"read": 0, "review": 0, "wrong": 0}
    faint_sent = 0
    quizzes = ["exam", "pre-test", "post-test", "practice"]
    for n in range(36):
        rng = random.Random(1000 + n)
        quiz, faint = quizzes[n % 4], 1 if n % 6 == 0 else 0
        sheet, marking, images = _sheet_images(course, quiz, 100 + n, dpi=rng.choice([150, 200, 300]), rng=rng,
                                               digits=f"{n:06d}", degraded=True, faint=faint)
        verdict = _verdict(_read(course, quiz, sheet, images), marking)
        counts[verdict] += 1
        faint_sent += faint and verdict == "review"
    print(f"degraded sheets: {counts}")
    assert counts["wrong"] == 0
    assert faint_sent == 6  # a half-filled box is never taken as a choice, nor as empty
    assert counts["read"] >= 24  # the reader is still useful on ordinary scans


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_sheet_fed_sideways_or_upside_down_is_read(course, turn):
    rng = random.Random(turn)
    sheet, marking, images = _sheet_images(course, "post-test", 8, dpi=150, rng=rng, digits="123456")
    turned = [np.ascontiguousarray(np.rot90(img, k=turn // 90)) for img in images]
    assert _verdict(_read(course, "post-test", sheet, turned), marking) == "read"


def test_missing_registration_mark_or_code_goes_to_review_not_guessed(course):
    rng = random.Random(3)
    sheet, marking, images = _sheet_images(course, "post-test", 3, dpi=150, rng=rng, digits="1")
    px = 150 / 25.4
    no_mark = images[0].copy()
    no_mark[int((297 - 20) * px):, :int(20 * px)] = 255  # bottom-left corner torn off
    read = _read(course, "post-test", sheet, [no_mark])[0]
    assert "bottom-left registration mark was not found" in read.problem and not read.answers
    no_code = images[0].copy()
    no_code[int(22 * px):int(56 * px), int(18 * px):int(52 * px)] = 255
    read = _read(course, "post-test", sheet, [no_code])[0]
    assert "no answer-sheet code" in read.problem


def test_box_states_fill_cancel_partial_and_two_boxes_on_a_one_answer_question(course):
    paper = draw(course, course.blueprint("post-test"), 2)
    sheet = layout(paper)
    img = sim.render_pages(paper_pdf(paper), 200, len(sheet.pages))[0]
    single = next(b for b in sheet.pages[0].blocks if b.kind == "single")
    a, b, c = single.rows[0][1][:3]
    rng = random.Random(1)
    m = sim.Marking(fills=[(1, a), (1, b)], cancels=[(1, b)], faint=[(1, c)])
    marked = sim.draw_marking(img, m, 1, 200, rng)
    reads = _read(course, "post-test", sheet, [marked])
    ink = _ink(_warp(marked, sheet))
    assert read_box(ink, a).state is State.FILLED
    assert read_box(ink, b).state is State.CANCELLED
    assert read_box(ink, c).state is State.UNCLEAR and "partly filled" in read_box(ink, c).why
    assert read_box(ink, single.rows[0][1][3]).state is State.EMPTY
    assert single.item.question.id in reads[0].unclear  # the partial mark sends the question to review
    two = sim.draw_marking(img, sim.Marking(fills=[(1, a), (1, c)]), 1, 200, rng)
    read = _read(course, "post-test", sheet, [two])[0]
    assert "2 boxes filled for a one-answer question" in read.unclear[single.item.question.id]


def test_a_sheet_of_another_quiz_or_an_edited_paper_is_not_graded(course):
    rng = random.Random(2)
    sheet, marking, images = _sheet_images(course, "post-test", 3, dpi=150, rng=rng)
    read = read_page(images[0], "s.png", 1, Papers(course, "pre-test").sheet_for)
    assert "quiz 'post-test', not 'pre-test'" in read.problem
    papers = Papers(course, "post-test")
    papers._papers[3] = draw(course, course.blueprint("post-test"), 4)  # as if the banks had changed
    assert "not the one printed" in read_page(images[0], "s.png", 1, papers.sheet_for).problem


# --- the command line and the gradebook ----------------------------------------------------------------

def _stack(path: Path, pages: list[np.ndarray]) -> Path:
    images = [Image.fromarray(p) for p in pages]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=200)
    return path


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def exam_dir(tmp_path, monkeypatch):
    shutil.copytree(REPO / "quizzes", tmp_path / "quizzes")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("THBCOURSE_DB", str(tmp_path / "gb.sqlite"))
    (tmp_path / "roster.csv").write_text("learner\n100001\n100002\nOFC-3\n", encoding="utf-8")
    assert run("cohort", "create", "C1").exit_code == 0
    assert run("cohort", "add", "C1", "roster.csv").exit_code == 0
    return tmp_path


def _scores(db: Path) -> dict[tuple[str, int], tuple[float, str]]:
    from sqlalchemy import select

    from thbcourse.store.db import open_gradebook
    from thbcourse.store.tables import attempts, learners, quiz_sessions

    with open_gradebook(str(db)).connect() as conn:
        rows = conn.execute(select(learners.c.code, attempts.c.seed, attempts.c.score, quiz_sessions.c.mode)
                            .join(attempts, attempts.c.learner_id == learners.c.id)
                            .join(quiz_sessions, quiz_sessions.c.id == attempts.c.session_id)).all()
    return {(code, seed): (score, mode) for code, seed, score, mode in rows}


def test_print_scan_review_import_end_to_end(exam_dir, course):
    """Personal papers for a cohort and an anonymous one; the stack scanned as one PDF; the sheet with a
    wrong id goes to review, is completed by the trainer and imported; a second scan counts nobody twice."""
    result = run("draw", "post-test", "--cohort", "C1", "--seed", "40", "--format", "pdf", "--out", "papers")
    assert result.exit_code == 0, result.output
    assert "exam" not in result.output and (exam_dir / "papers/post-test-C1-print.pdf").is_file()
    assert run("draw", "post-test", "--seed", "50", "--format", "pdf", "--out", "papers").exit_code == 0
    rng, pages, expected = random.Random(4), [], {}
    for seed, learner, digits in [(40, "100001", ""), (41, "100002", ""), (42, "OFC-3", ""), (50, None, "999")]:
        paper = draw(course, course.blueprint("post-test"), seed)
        sheet = layout(paper, learner=learner)
        pdf = (exam_dir / "papers" / (f"post-test-seed{seed}" + (f"-{learner}" if learner else "") + ".pdf"))
        marking = sim.random_marking(sheet, rng, learner_digits=digits)
        for n, img in enumerate(sim.render_pages(pdf.read_bytes(), 200, len(sheet.pages)), 1):
            pages.append(sim.degrade(sim.draw_marking(img, marking, n, 200, rng), rng, angle=1.5))
        from thbcourse.engine.answers import parse_answer
        from thbcourse.engine.attempt import mark_paper

        items = {i.question.id: i for i in paper.items}
        expected[learner or digits] = mark_paper(paper, {q: parse_answer(items[q], a) for q, a in marking.answers.items()},
                                                 marking.awarded).score
    _stack(exam_dir / "stack.pdf", pages)

    result = run("scan", "stack.pdf", "--quiz", "post-test", "--review", "review.csv")
    assert result.exit_code == 0, result.output
    assert "3 sheet(s) stored, 0 already stored, 1 to review" in result.output
    scores = _scores(exam_dir / "gb.sqlite")
    assert {k: v[0] for k, v in scores.items()} == pytest.approx(
        {("100001", 40): expected["100001"], ("100002", 41): expected["100002"], ("OFC-3", 42): expected["OFC-3"]})
    assert {v[1] for v in scores.values()} == {"scan"}

    with open(exam_dir / "review.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["learner"] == "999" and r["seed"] == "50" for r in rows)
    assert "learner '999' is not in the gradebook" in rows[0]["problem"] and rows[0]["file"] == "stack.pdf"
    refused = CliRunner().invoke(main, ["results", "import", "review.csv", "--quiz", "post-test"])
    assert refused.exit_code == 1 and "review.csv:2:1: unknown learner '999'" in refused.output
    for r in rows:
        r["learner"] = "100001"  # the trainer reads the name on the sheet: it was 100001's second paper
    with open(exam_dir / "review.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = run("results", "import", "review.csv", "--quiz", "post-test")
    assert result.exit_code == 0, result.output
    assert _scores(exam_dir / "gb.sqlite")[("100001", 50)][0] == pytest.approx(expected["999"])
    twice = CliRunner().invoke(main, ["results", "import", "review.csv", "--quiz", "post-test"])
    assert twice.exit_code == 1 and "review.csv:2:1: 100001's paper post-test seed 50 is already in" in twice.output

    again = run("scan", "stack.pdf", "--quiz", "post-test", "--review", "review2.csv")
    assert "0 sheet(s) stored, 3 already stored, 1 to review" in again.output
    assert len(_scores(exam_dir / "gb.sqlite")) == 4


def test_scan_of_a_file_that_is_not_an_image_is_a_clear_error_and_stores_nothing(exam_dir):
    (exam_dir / "notes.png").write_text("not an image", encoding="utf-8")
    result = CliRunner().invoke(main, ["scan", "notes.png", "--quiz", "post-test"])
    assert result.exit_code == 1 and "notes.png:1:1: cannot read this scan" in result.output
    assert "Traceback" not in result.output and not (exam_dir / "scan-review.csv").exists()
    assert _scores(exam_dir / "gb.sqlite") == {}


def test_unreadable_pages_are_listed_for_review(exam_dir, course):
    blank = np.full((2339, 1654), 255, np.uint8)
    _stack(exam_dir / "blank.pdf", [blank])
    result = run("scan", "blank.pdf", "--quiz", "post-test")
    assert "blank.pdf p1: no answer-sheet code found" in result.output
    with open(exam_dir / "scan-review.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [{"learner": "", "seed": "", "question": "", "answer": "", "points": "", "number": "",
                     "file": "blank.pdf", "page": "1", "problem": rows[0]["problem"]}]


def test_results_import_takes_points_for_written_answers_and_checks_them(exam_dir, sample):
    shutil.rmtree(exam_dir / "quizzes")
    shutil.copytree(DATA / "quizzes", exam_dir / "quizzes")
    paper = draw(sample, sample.blueprint("sample-quiz"), 1)
    written = next(i for i in paper.items if i.question.type == "short_answer")
    tf = next(i for i in paper.items if i.question.type == "true_false")
    (exam_dir / "marks.csv").write_text(
        "learner,seed,question,answer,points\n"
        f"100001,1,{written.question.id},,1\n100001,1,{tf.question.id},{'true' if tf.question.answer else 'false'},\n",
        encoding="utf-8")
    result = run("results", "import", "marks.csv", "--quiz", "sample-quiz")
    assert result.exit_code == 0, result.output
    assert _scores(exam_dir / "gb.sqlite")[("100001", 1)][0] == pytest.approx(2.0)
    (exam_dir / "bad.csv").write_text(
        "learner,seed,question,answer,points\n"
        f"100002,1,{written.question.id},,3\n100002,1,{tf.question.id},true,1\n100002,1,"
        f"{next(i for i in paper.items if i.question.type == 'ordering').question.id},,\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["results", "import", "bad.csv", "--quiz", "sample-quiz"])
    assert bad.exit_code == 1
    assert f"bad.csv:2:1: {written.question.id}: 3 points: the question is worth 0 to 1" in bad.output
    assert "bad.csv:3:1:" in bad.output and "only to written answers" in bad.output
    assert "bad.csv:4:1:" in bad.output and "is empty" in bad.output
    assert ("100002", 1) not in _scores(exam_dir / "gb.sqlite")


def test_review_rows_keep_what_was_read_and_blank_what_was_not(course):
    rng = random.Random(11)
    paper = draw(course, course.blueprint("post-test"), 11)
    sheet = layout(paper)
    marking = sim.random_marking(sheet, rng, learner_digits="100001", cancel_rate=0)
    block = next(b for b in sheet.pages[0].blocks if b.kind == "single")
    marking.faint.append((1, next(b for b in block.rows[0][1] if (1, b) not in marking.fills)))
    images = [sim.draw_marking(img, marking, n, 200, rng)
              for n, img in enumerate(sim.render_pages(paper_pdf(paper), 200, len(sheet.pages)), 1)]
    papers = Papers(course, "post-test")
    outcome = _assemble([read_page(img, "s.pdf", n, papers.sheet_for) for n, img in enumerate(images, 1)],
                        papers, {"100001": "100001"})
    assert not outcome.graded and len(outcome.to_review) == 1
    rows = review_rows(outcome)
    unclear = [r for r in rows if r["question"] == block.item.question.id]
    assert unclear[0]["answer"] == "" and "partly filled" in unclear[0]["problem"]
    others = {r["question"]: r["answer"] for r in rows if r["question"] != block.item.question.id and not r["points"]}
    assert others == {q: a for q, a in marking.answers.items() if q != block.item.question.id}
    assert {r["question"]: float(r["points"]) for r in rows if r["points"]} == marking.awarded
