"""kb import: CSL-JSON, BibTeX, RIS and DOIs (from a local server) into sources/."""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.pipeline import check_kb
from kb.reading.load import load_kb

RunKB = Callable[..., Any]
DOIS = Path(__file__).parent / "data" / "doi"

ZOTERO = [
    {
        "id": "http://zotero.org/users/1/items/ABCD1234",
        "type": "article-journal",
        "title": "A trial",
        "container-title": "Journal of Trials",
        "shortTitle": "Trial",
        "journalAbbreviation": "J Trials",
        "author": [{"family": "Li", "given": "Ann"}, {"given": "Plato"}],
        "issued": {"date-parts": [["2019", "5", 14]]},
        "accessed": {"date-parts": [[2024, 1, 2]]},
        "DOI": "https://doi.org/10.1000/TRIAL.1",
        "citation-key": "li2019trial",
    },
    {"id": "Kur66", "type": "book", "title": "An old book", "issued": {"literal": "circa 1966"},
     "author": [{"literal": "World Health Organization"}]},
]  # fmt: skip
BIB = """\
@article{dup2019, author = {Li, Ann}, title = {A trial}, journal = {Journal of Trials},
  year = {2019}, doi = {10.1000/trial.1}}
@book{borror:1960dictionary, title = {Dictionary of Word Roots}, author = {Borror, Donald J.},
  year = 1960, publisher = {Mayfield}}
"""
RIS = """\
TY  - JOUR
AU  - Smith, John
TI  - A RIS paper
T2  - Journal Y
PY  - 2020
DO  - doi:10.2000/ris.1
SP  - 10
EP  - 20
ER  - \n"""


@pytest.fixture
def base(run_kb: RunKB, tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    assert run_kb("init", root).code == 0
    return root


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    z, b, r = tmp_path / "zotero.json", tmp_path / "refs.bib", tmp_path / "refs.ris"
    z.write_text(json.dumps(ZOTERO), encoding="utf-8")
    b.write_text(BIB, encoding="utf-8")
    r.write_text(RIS, encoding="utf-8")
    return [z, b, r]


def test_imports_csl_json_bibtex_and_ris(run_kb: RunKB, base: Path, files: list[Path]) -> None:
    r = run_kb("-C", base, "import", *files)
    assert r.code == 0, r.err
    written = sorted(p.name for p in (base / "sources").glob("*.yaml"))
    assert written == ["borror-1960dictionary.yaml", "kur66.yaml", "li2019trial.yaml",
                       "smith-2020.yaml"]  # fmt: skip
    assert "duplicate of sources/li2019trial.yaml (same DOI)" in r.out
    assert "bare DOI '10.1000/TRIAL.1'" in r.out and "bare DOI '10.2000/ris.1'" in r.out
    kb, problems = load_kb(base)
    assert problems == []
    trial = kb.sources["li2019trial"]  # type: ignore[index]
    assert trial.csl["DOI"] == "10.1000/TRIAL.1" and trial.csl["issued"] == "2019-05-14"
    assert trial.csl["title-short"] == "Trial" and trial.csl["container-title-short"] == "J Trials"
    assert trial.csl["author"] == [{"family": "Li", "given": "Ann"}, {"given": "Plato"}]
    ris = kb.sources["smith-2020"]  # type: ignore[index]
    assert (ris.type, ris.csl["container-title"], ris.csl["page"]) == (
        "article-journal", "Journal Y", "10-20"
    )  # fmt: skip
    assert kb.sources["borror-1960dictionary"].csl["publisher"] == "Mayfield"  # type: ignore[index]
    _, _, checked = check_kb(base)
    assert [p.code for p in checked if p.severity.value == "error"] == []


def test_export_gives_drafts_their_keys(run_kb: RunKB, base: Path, files: list[Path]) -> None:
    assert run_kb("-C", base, "import", *files).code == 0
    r = run_kb("-C", base, "export", "csl-json")
    ids = sorted(item["id"] for item in json.loads(r.out))
    assert ids == ["Kur66", "borror:1960dictionary", "li2019trial", "smith-2020"]


def test_importing_twice_writes_nothing_new(run_kb: RunKB, base: Path, files: list[Path]) -> None:
    assert run_kb("-C", base, "import", *files).code == 0
    before = {p.name: p.read_bytes() for p in (base / "sources").iterdir()}
    r = run_kb("-C", base, "import", *files)
    assert r.code == 0 and "0 source(s) written, 5 duplicate(s)" in r.out
    assert {p.name: p.read_bytes() for p in (base / "sources").iterdir()} == before


def test_dry_run_writes_nothing(run_kb: RunKB, base: Path, files: list[Path]) -> None:
    r = run_kb("-C", base, "import", "--dry-run", *files)
    assert r.code == 0 and "would write sources/kur66.yaml (key Kur66)" in r.out
    assert list((base / "sources").iterdir()) == []


def test_a_key_taken_gets_another_id(run_kb: RunKB, base: Path, tmp_path: Path) -> None:
    f = tmp_path / "two.json"
    f.write_text(json.dumps([{"id": "Li 2019", "type": "book", "title": "One"},
                             {"id": "li-2019", "type": "book", "title": "Two"}]))  # fmt: skip
    assert run_kb("-C", base, "import", f).code == 0
    assert sorted(p.stem for p in (base / "sources").iterdir()) == ["li-2019", "li-2019-2"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.json", '[{"type": "book"', "bad.json:1:"),
        ("bad.json", "[1, 2]", "entry 1 is not a CSL-JSON item"),
        ("bad.ris", "not ris at all\n", "bad.ris"),
    ],
)
def test_unreadable_files_say_where(
    run_kb: RunKB, base: Path, tmp_path: Path, name: str, text: str, message: str
) -> None:
    f = tmp_path / name
    f.write_text(text)
    r = run_kb("-C", base, "import", f)
    assert r.code == 2 and message in r.err
    assert list((base / "sources").iterdir()) == []


def test_a_pipe_a_device_or_bad_bytes_are_refused_at_once(
    run_kb: RunKB, base: Path, tmp_path: Path
) -> None:
    """kb import reads regular files only: a named pipe (nothing ever written to it) or a
    device is refused without waiting or filling memory; bytes that are not UTF-8 say where."""
    fifo = tmp_path / "refs.bib"
    os.mkfifo(fifo)
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe[]")
    for path, message in [
        (fifo, "is not a regular file"),
        (Path("/dev/zero"), "is not a regular file"),
        (bad, "not UTF-8 text (invalid start byte at byte 0)"),
    ]:
        r = run_kb("-C", base, "import", path)
        assert r.code == 2 and message in r.err and "Traceback" not in r.err
    assert list((base / "sources").iterdir()) == []


class _Replay(http.server.BaseHTTPRequestHandler):
    """doi.org's content negotiation, replayed from tests/data/doi."""

    def do_GET(self) -> None:
        doi = self.path.lstrip("/")
        path = DOIS / (doi.replace("/", "_") + ".json")
        wanted = self.headers.get("Accept") == "application/vnd.citationstyles.csl+json"
        if not wanted or not path.is_file():
            self.send_error(404 if wanted else 406)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.citationstyles.csl+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def resolver() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    server.daemon_threads = False  # server_close() waits for every request's thread
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:  # no thread may outlive the test: kb forks helpers only when it runs alone
        server.shutdown()
        server.server_close()
        thread.join()


def test_doi_by_content_negotiation(
    run_kb: RunKB, base: Path, resolver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_DOI_RESOLVER", resolver)
    r = run_kb("-C", base, "import", "--doi", "10.1111/j.1476-5381.1983.tb11031.x")
    assert r.code == 0, r.err
    assert "type 'journal-article' (Crossref's name) is CSL's 'article-journal'" in r.out
    kb, problems = load_kb(base)
    assert problems == []
    (src,) = kb.sources.values()
    assert src.id == "anis-1983" and src.type == "article-journal"
    assert src.csl["container-title"] == "British Journal of Pharmacology"
    assert src.csl["author"][0] == {"given": "N. A.", "family": "Anis"}
    assert src.csl["DOI"] == "10.1111/j.1476-5381.1983.tb11031.x"
    r = run_kb("-C", base, "import", "--doi", "10.1111/j.1476-5381.1983.tb11031.x",
               "--resolver", resolver)  # fmt: skip
    assert "duplicate of sources/anis-1983.yaml (same DOI)" in r.out


def test_unknown_doi_fails_with_a_message(run_kb: RunKB, base: Path, resolver: str) -> None:
    r = run_kb("-C", base, "import", "--doi", "10.9999/none", "--resolver", resolver)
    assert r.code == 1 and "DOI 10.9999/none: no such DOI" in r.err
    assert list((base / "sources").iterdir()) == []


def test_one_work_under_two_keys_is_written_twice(
    run_kb: RunKB, base: Path, tmp_path: Path
) -> None:
    """citation-js writes a @book and a @manual of one title, year and author under two keys
    (and Better BibTeX writes smith2020 and smith2020a): a draft cites each, so each is kept.
    Without two keys, or with the same key, it is one work, written once."""
    book = {"type": "book", "title": "Lorem Ipsum", "author": [{"family": "Adams"}],
            "issued": {"date-parts": [[2020, 2]]}}  # fmt: skip
    f = tmp_path / "two.json"
    f.write_text(json.dumps([{**book, "id": "Book"}, {**book, "id": "Manual"},
                             {**book, "id": "http://zotero.org/users/1/items/X"}]))  # fmt: skip
    r = run_kb("-C", base, "import", f)
    assert r.code == 0
    assert "entry 2: wrote sources/manual.yaml (key Manual)" in r.out
    assert "entry 3: duplicate of sources/book.yaml (same title, year and first author)" in r.out
    g = tmp_path / "again.json"
    g.write_text(json.dumps([{**book, "id": "Manual"}]))
    assert "duplicate of sources/manual.yaml" in run_kb("-C", base, "import", g).out


def test_manubot_keys_are_kept_and_ids_made_readable(
    run_kb: RunKB, base: Path, tmp_path: Path
) -> None:
    """Manubot's keys are links and DOIs (`url:https://...`, `doi:10...`): drafts cite them, so
    they are kept; the file is named by the first author (any script) and the year."""
    f = tmp_path / "manual-references.json"
    f.write_text(json.dumps([
        {"id": "url:http://alla-astakhova.ru/sci-hub/", "type": "webpage", "title": "T",
         "author": [{"family": "Астахова", "given": "Алла"}],
         "issued": {"date-parts": [[2017, 9, 12]]}},
        {"id": "doi:10.1000/182", "type": "legal-case", "title": "U"},
    ]), encoding="utf-8")  # fmt: skip
    r = run_kb("-C", base, "import", f)
    assert r.code == 0
    assert "wrote sources/astakhova-2017.yaml (key url:http://alla-astakhova.ru/sci-hub/)" in r.out
    assert "note: type 'legal-case' is not a CSL type: read as 'legal_case'" in r.out
    exported = json.loads(run_kb("-C", base, "export", "csl-json").out)
    assert {(x["id"], x["type"]) for x in exported} == {
        ("url:http://alla-astakhova.ru/sci-hub/", "webpage"), ("doi:10.1000/182", "legal_case")
    }  # fmt: skip


def test_ris_serial_number_is_an_isbn_for_a_book_and_an_issn_for_a_journal() -> None:
    """RIS's SN holds a book's ISBN or a serial's ISSN: the value's shape says which."""
    from kb.reading.bibliography import ris_to_csl

    book = ris_to_csl({"type_of_reference": "BOOK", "title": "B", "issn": "978-3-16-148410-0"})
    assert book["ISBN"] == "978-3-16-148410-0" and "ISSN" not in book
    old = ris_to_csl({"type_of_reference": "BOOK", "title": "B", "issn": "0-306-40615-X"})
    assert old["ISBN"] == "0-306-40615-X"
    journal = ris_to_csl({"type_of_reference": "JOUR", "title": "J", "issn": "1234-5679"})
    assert journal["ISSN"] == "1234-5679" and "ISBN" not in journal
