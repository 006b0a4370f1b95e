"""The README's bank example is a real, valid bank (checked against the real book)."""
from __future__ import annotations

import re

from thbcourse.bank.course import load_course

from conftest import REPO


def test_readme_bank_example_validates(tmp_path):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"<!-- bank-example -->\n```yaml\n(.*?)```", text, re.S).group(1)
    (tmp_path / "example.yml").write_text(example, encoding="utf-8")
    course = load_course([tmp_path], book_root=REPO)
    types = {q.type for q in course.questions.values()}
    assert types == {"single", "multiple", "true_false", "matching", "ordering", "short_answer", "numeric"}
