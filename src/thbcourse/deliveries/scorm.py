"""The student edition as a SCORM 1.2 or SCORM 2004 (4th edition) package for a learning platform.

`package` zips an already built student edition (`thbcourse build --only student`) with a generated
`imsmanifest.xml`. By default each page of `_toc.yml` is a SCO of its own, in the book's order: the
parts and the chapters with sections (chapter 4) become items that hold them; with
`per_chapter=False` the whole course is one SCO. A SCO starts at a launch page of its own,
`scorm/<page>.html`, that holds the session with the platform (`static/book/scorm.js`) and shows
the book page in a frame, so the learner can browse the book inside the SCO without ending it.

What a SCO reports (docs/platforms-scorm.md): the self-checks it tracks (the chapter's own, or every
chapter's for the course SCO) give the score (percent: raw, min 0, max 100, and scaled in 2004),
completion, success against the blueprint's pass mark, one interaction per checked answer, and
suspend data from which reopening resumes. A SCO without a self-check (exercises, appendices) is
completed when opened.

The package is offline (the edition loads nothing from the network) and holds only what the student
edition publishes: a page that shows trainer notes, model answers or the trainer banner stops the
packaging. The same edition always gives the same bytes (sorted entries, fixed dates), and the zip is
written to a temporary file and renamed.
"""
from __future__ import annotations

import html
import json
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from thbcourse.bank.yamlfile import safe_load
from thbcourse.book.sections import page_numbers
from thbcourse.deliveries.platforms import write_atomically
from thbcourse.deliveries.platforms.content import xml_document

FORMATS = ("scorm12", "scorm2004")
SCRIPT = Path(__file__).parent.parent / "book" / "static" / "book" / "scorm.js"
SCRIPT_NAME = "_static/scorm.js"
STYLE_NAME = "_static/scorm-launch.css"
LAUNCH_DIR = "scorm"
DATE = (1980, 1, 1, 0, 0, 0)

# What only the trainer edition shows: the trainer notes, the model answers, the banner.
TRAINER_ONLY = re.compile(r'class="[^"]*\b(trainer-notes|trainer-only|trainer-banner)\b'
                          r'|Trainer edition: contains solutions')
_QUIZ = re.compile(r'<section class="sc"[^>]*\bdata-quiz="([^"]+)"[^>]*\bdata-pass="([^"]+)"')
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")

STYLE = """html, body { margin: 0; height: 100%; overflow: hidden; }
iframe.sco { display: block; width: 100%; height: 100%; border: 0; }
"""

NS = {
    "scorm12": {
        "": "http://www.imsproject.org/xsd/imscp_rootv1p1p2",
        "adlcp": "http://www.adlnet.org/xsd/adlcp_rootv1p2",
    },
    "scorm2004": {
        "": "http://www.imsglobal.org/xsd/imscp_v1p1",
        "adlcp": "http://www.adlnet.org/xsd/adlcp_v1p3",
        "adlseq": "http://www.adlnet.org/xsd/adlseq_v1p3",
        "adlnav": "http://www.adlnet.org/xsd/adlnav_v1p3",
        "imsss": "http://www.imsglobal.org/xsd/imsss",
    },
}
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = {
    "scorm12": ("http://www.imsproject.org/xsd/imscp_rootv1p1p2 imscp_rootv1p1p2.xsd "
                "http://www.adlnet.org/xsd/adlcp_rootv1p2 adlcp_rootv1p2.xsd"),
    "scorm2004": ("http://www.imsglobal.org/xsd/imscp_v1p1 imscp_v1p1.xsd "
                  "http://www.adlnet.org/xsd/adlcp_v1p3 adlcp_v1p3.xsd "
                  "http://www.adlnet.org/xsd/adlseq_v1p3 adlseq_v1p3.xsd "
                  "http://www.adlnet.org/xsd/adlnav_v1p3 adlnav_v1p3.xsd "
                  "http://www.imsglobal.org/xsd/imsss imsss_v1p0.xsd"),
}
SCHEMA_VERSION = {"scorm12": "1.2", "scorm2004": "2004 4th Edition"}


class PackageError(ValueError):
    """The edition cannot be packaged; the message says why."""


@dataclass
class Sco:
    page: str  # the docname the SCO starts at
    title: str
    quizzes: list[tuple[str, float]]  # (self-check id, pass mark in percent) tracked by the SCO

    @property
    def slug(self) -> str:
        return self.page.replace("/", "-")

    @property
    def launcher(self) -> str:
        return f"{LAUNCH_DIR}/{self.slug}.html"


@dataclass
class Node:
    title: str
    sco: Sco | None = None
    children: list[Node] = field(default_factory=list)
    ident: str = ""


def package(student_html: Path, root: Path, out: Path, fmt: str = "scorm12", per_chapter: bool = True) -> Path:
    """Zip the built student edition in `student_html` as a SCORM package at `out`, following
    `root`/_toc.yml; `fmt` is "scorm12" or "scorm2004". Returns `out`."""
    if fmt not in FORMATS:
        raise PackageError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    student_html, root, out = Path(student_html), Path(root), Path(out)
    if not (student_html / "index.html").is_file():
        raise PackageError(f"no built edition in {student_html}; run `thbcourse build --only student` first")
    files = _edition_files(student_html)
    leaks = [name for name, data in files.items() if name.endswith(".html") and TRAINER_ONLY.search(data.decode("utf-8", "replace"))]
    if leaks:
        raise PackageError(f"{student_html} shows trainer-only material ({', '.join(leaks[:5])}); "
                           "package the student edition")
    title = _book_title(root)
    tree = _organization(root, files, title, per_chapter)
    scos = [node.sco for node in _walk(tree) if node.sco]
    version = "1.2" if fmt == "scorm12" else "2004"
    for name in list(files):
        if name.endswith(".html") and _QUIZ.search(files[name].decode("utf-8", "replace")):
            files[name] = _with_script(name, files[name])
    files[SCRIPT_NAME] = SCRIPT.read_bytes()
    files[STYLE_NAME] = STYLE.encode()
    for sco in scos:
        files[sco.launcher] = _launcher(sco, version)
    content = sorted(files)
    files["imsmanifest.xml"] = _manifest(fmt, title, tree, scos, content)
    write_atomically(out, _zip(files))
    return out


# --- what goes in -----------------------------------------------------------------------------------

def _edition_files(html_dir: Path) -> dict[str, bytes]:
    """Every published file of the edition, by its path in the package (no dotfiles: .buildinfo)."""
    files = {}
    for path in sorted(html_dir.rglob("*")):
        name = path.relative_to(html_dir).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in name.split("/")):
            files[name] = path.read_bytes()
    for reserved in ("imsmanifest.xml", SCRIPT_NAME, STYLE_NAME):
        files.pop(reserved, None)
    return {name: data for name, data in files.items() if not name.startswith(f"{LAUNCH_DIR}/")}


def _book_title(root: Path) -> str:
    config = safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    return str(config.get("title") or "Course")


def _page_title(files: dict[str, bytes], docname: str, number: str) -> str:
    page = files[f"{docname}.html"].decode("utf-8", "replace")
    found = _H1.search(page)
    text = found.group(1) if found else docname
    text = re.sub(r'<span class="section-number">.*?</span>|<a class="headerlink".*?</a>', "", text, flags=re.DOTALL)
    text = " ".join(html.unescape(_TAG.sub("", text)).split())
    return f"{number} {text}" if number else text


def _quizzes(files: dict[str, bytes], docname: str) -> list[tuple[str, float]]:
    page = files[f"{docname}.html"].decode("utf-8", "replace")
    return [(html.unescape(quiz), _number(mark)) for quiz, mark in _QUIZ.findall(page)]


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _organization(root: Path, files: dict[str, bytes], title: str, per_chapter: bool) -> Node:
    """The items in _toc.yml order: the root page, then each part (its caption) with its chapters;
    a chapter with sections holds its own page and the sections'."""
    toc = safe_load((root / "_toc.yml").read_text(encoding="utf-8")) or {}
    numbers = page_numbers(root)
    start = str(toc.get("root", "index")).removesuffix(".md")
    tree = Node(title)
    if not per_chapter:
        pages = [name.removesuffix(".html") for name in sorted(files) if name.endswith(".html")]
        quizzes = [q for page in pages for q in _quizzes(files, page)]
        tree.children.append(Node(title, Sco(start, title, quizzes)))
        return _identify(tree)

    def leaf(docname: str) -> Node:
        docname = docname.removesuffix(".md")
        if f"{docname}.html" not in files:
            raise PackageError(f"{docname}.html is missing from the edition; build the student edition again")
        number = numbers.get(docname, "")
        name = _page_title(files, docname, f"{number}." if number and "." not in number else number)
        return Node(name, Sco(docname, name, _quizzes(files, docname)))

    def entry(item: dict) -> Node:
        page = leaf(item["file"])
        sections = [s for s in item.get("sections") or [] if "file" in s]
        if not sections:
            return page
        return Node(page.title, children=[page, *(entry(s) for s in sections)])

    tree.children.append(leaf(start))
    parts = toc.get("parts") or [{"chapters": toc.get("chapters") or []}]
    for part in parts:
        chapters = [entry(c) for c in part.get("chapters") or [] if "file" in c]
        if part.get("caption"):
            tree.children.append(Node(str(part["caption"]), children=chapters))
        else:
            tree.children.extend(chapters)
    return _identify(tree)


def _walk(node: Node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _identify(tree: Node) -> Node:
    """xsd:ID identifiers: a SCO's from its page, a part's from its position."""
    for n, node in enumerate(_walk(tree)):
        node.ident = f"item-{node.sco.slug}" if node.sco else f"group-{n}"
    return tree


def _with_script(name: str, page: bytes) -> bytes:
    """The page with scorm.js loaded in its head, before the deferred selfcheck.js runs."""
    src = posixpath.relpath(SCRIPT_NAME, posixpath.dirname(name) or ".")
    text = page.decode("utf-8")
    at = text.index("</head>")
    return (text[:at] + f'<script src="{src}"></script>\n' + text[at:]).encode("utf-8")


def _launcher(sco: Sco, version: str) -> bytes:
    quizzes = json.dumps([{"id": quiz, "pass": mark} for quiz, mark in sco.quizzes], separators=(",", ":"))
    up = "../"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en" data-scorm-version="{version}" data-scorm-quizzes="{html.escape(quizzes)}">\n'
        "<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(sco.title)}</title>\n"
        f'<link rel="stylesheet" href="{up}{STYLE_NAME}">\n'
        f'<script src="{up}{SCRIPT_NAME}"></script>\n'
        "</head>\n<body>\n"
        f'<iframe class="sco" src="{up}{html.escape(sco.page)}.html" title="{html.escape(sco.title)}"></iframe>\n'
        "</body>\n</html>\n"
    ).encode()


# --- the manifest -----------------------------------------------------------------------------------

def _manifest(fmt: str, title: str, tree: Node, scos: list[Sco], content: list[str]) -> bytes:
    ns = NS[fmt]
    for prefix, uri in [*ns.items(), ("xsi", XSI)]:
        ET.register_namespace(prefix, uri)

    def q(name: str) -> str:
        prefix, _, local = name.rpartition(":")
        return f"{{{ns[prefix]}}}{local}"

    v2004 = fmt == "scorm2004"
    manifest = ET.Element(q("manifest"), {"identifier": f"thbcourse-{fmt}", "version": "1",
                                          f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION[fmt]})
    metadata = ET.SubElement(manifest, q("metadata"))
    ET.SubElement(metadata, q("schema")).text = "ADL SCORM"
    ET.SubElement(metadata, q("schemaversion")).text = SCHEMA_VERSION[fmt]
    organizations = ET.SubElement(manifest, q("organizations"), {"default": "thbcourse"})
    organization = ET.SubElement(organizations, q("organization"), {"identifier": "thbcourse"})
    ET.SubElement(organization, q("title")).text = title

    def item(parent: ET.Element, node: Node) -> None:
        attrs = {"identifier": node.ident}
        if node.sco:
            attrs["identifierref"] = f"res-{node.sco.slug}"
        element = ET.SubElement(parent, q("item"), attrs)
        ET.SubElement(element, q("title")).text = node.title
        for child in node.children:
            item(element, child)
        marks = [mark for _, mark in node.sco.quizzes] if node.sco else []
        if len(marks) == 1 and not v2004:  # the platform may judge passed/failed from the score itself
            ET.SubElement(element, q("adlcp:masteryscore")).text = f"{marks[0]:g}"
        elif len(marks) == 1:
            sequencing = ET.SubElement(element, q("imsss:sequencing"))
            objectives = ET.SubElement(sequencing, q("imsss:objectives"))
            primary = ET.SubElement(objectives, q("imsss:primaryObjective"),
                                    {"objectiveID": f"pass-{node.sco.slug}", "satisfiedByMeasure": "true"})
            ET.SubElement(primary, q("imsss:minNormalizedMeasure")).text = f"{marks[0] / 100:g}"

    for child in tree.children:
        item(organization, child)
    if v2004:  # the learner may choose any page and go on in order ("Continue")
        sequencing = ET.SubElement(organization, q("imsss:sequencing"))
        ET.SubElement(sequencing, q("imsss:controlMode"), {"choice": "true", "flow": "true"})

    resources = ET.SubElement(manifest, q("resources"))
    kind = "adlcp:scormType" if v2004 else "adlcp:scormtype"
    for sco in scos:
        resource = ET.SubElement(resources, q("resource"), {"identifier": f"res-{sco.slug}", "type": "webcontent",
                                                            q(kind): "sco", "href": sco.launcher})
        ET.SubElement(resource, q("file"), {"href": sco.launcher})
        ET.SubElement(resource, q("dependency"), {"identifierref": "res-book"})
    shared = ET.SubElement(resources, q("resource"), {"identifier": "res-book", "type": "webcontent", q(kind): "asset"})
    launchers = {sco.launcher for sco in scos}
    for name in content:
        if name not in launchers:
            ET.SubElement(shared, q("file"), {"href": name})
    ET.indent(manifest)
    return xml_document(manifest)


def _zip(files: dict[str, bytes]) -> bytes:
    """The manifest first, then every file by name; fixed dates and modes, so the bytes depend only
    on the files."""
    buffer = BytesIO()
    names = ["imsmanifest.xml", *sorted(n for n in files if n != "imsmanifest.xml")]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()
