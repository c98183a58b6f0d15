"""kb snapshot: saved pages, PDFs, text files and URLs become snapshots that quotes are found in."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pdfmake import make_pdf

from kb.pipeline import check_kb
from kb.reading.extract import pdf_text
from kb.reading.load import load_kb

RunKB = Callable[..., Any]

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>Clinic news</title>
<script>var tracking = "Doctors say nothing";</script></head>
<body><nav><a href="/">Home</a> <a href="/about">About us</a></nav>
<article><h1>Flu season starts early</h1>
<p>&ldquo;We are seeing more cases than last year,&rdquo; said Dr. Ana Ruiz, who leads the
clinic&rsquo;s infectious disease unit.</p>
<p>Flu shots &amp; boosters are available now.</p></article>
<footer>Copyright 2024 Clinic</footer></body></html>
"""


@pytest.fixture
def base(run_kb: RunKB, tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    assert run_kb("init", root).code == 0
    assert run_kb("-C", root, "new", "source", "story", "--title", "Flu season").code == 0
    assert run_kb("-C", root, "new", "expert", "ana-ruiz", "--name", "Ana Ruiz").code == 0
    return root


def test_a_saved_page(run_kb: RunKB, base: Path, tmp_path: Path) -> None:
    page = tmp_path / "saved.html"
    page.write_bytes(PAGE)
    r = run_kb("-C", base, "snapshot", "story", page, "--date", "2024-10-01")
    assert r.code == 0, r.err
    text = (base / "sources" / "story.txt").read_text(encoding="utf-8")
    assert "\u201cWe are seeing more cases than last year,\u201d said Dr. Ana Ruiz" in text
    assert "Flu shots & boosters are available now." in text
    assert "Flu season starts early\n" in text  # the heading, on its own line
    assert "tracking" not in text and "Copyright" not in text and "&" + "amp;" not in text
    kb, problems = load_kb(base)
    assert problems == []
    src = kb.sources["story"]  # type: ignore[index]
    assert src.snapshot_sha256 == hashlib.sha256(text.encode()).hexdigest()
    yaml_text = (base / "sources" / "story.yaml").read_text()
    assert "snapshot_retrieved: 2024-10-01" in yaml_text or "'2024-10-01'" in yaml_text
    assert "snapshot_from: saved.html" in yaml_text
    assert "# A publication, in CSL-JSON field names" in yaml_text  # the comments are kept
    r = run_kb(
        "-C", base, "new", "claim", "more-cases", "--statement", "Flu cases rose.",
        "--source", "story", "--quote", "We are seeing more cases than last year",
        "--speaker", "ana-ruiz",
    )  # fmt: skip
    assert r.code == 0, r.err
    _, _, checked = check_kb(base)
    assert not [p for p in checked if p.severity.value == "error"]


def test_keep_original_is_no_stray_file(run_kb: RunKB, base: Path, tmp_path: Path) -> None:
    page = tmp_path / "saved.html"
    page.write_bytes(PAGE)
    assert run_kb("-C", base, "snapshot", "story", page, "--keep-original").code == 0
    assert (base / "sources" / "story.orig.html").read_bytes() == PAGE
    _, _, checked = check_kb(base)
    assert "stray-file" not in {p.code for p in checked}


def test_a_pdf_with_hyphenated_line_breaks(run_kb: RunKB, base: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(
        make_pdf(
            [
                "Flu Report \u2014 Week 40",
                "Influenza trans-",
                "mission is increasing",
                "in the region; COVID-",
                "19 is stable.",
            ]
        )
    )
    r = run_kb("-C", base, "snapshot", "story", pdf)
    assert r.code == 0, r.err
    text = (base / "sources" / "story.txt").read_text(encoding="utf-8")
    assert "Influenza transmission is increasing" in text
    assert "COVID-\n19" in text  # a hyphen before a digit is no line-break hyphen
    assert "Flu Report \u2014 Week 40" in text


def test_a_pdf_without_text_says_so() -> None:
    with pytest.raises(Exception, match="no text layer"):
        pdf_text(make_pdf([]), "scan.pdf")


def test_a_damaged_pdf_is_one_message(capfd: pytest.CaptureFixture[str]) -> None:
    """Truncated or corrupted PDFs give kb's one-line error (or their text), never another
    exception, and pypdf's own warnings about them are not printed."""
    import random

    from kb.errors import KBError

    good = make_pdf(["We are seeing more cases than last year."])
    rng = random.Random(7)
    for _ in range(150):
        data = bytearray(good)
        if rng.random() < 0.5:
            del data[rng.randrange(len(data)) :]
        for _ in range(rng.randrange(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            pdf_text(bytes(data), "x.pdf")
        except KBError as exc:
            assert str(exc).startswith("x.pdf: ")
    assert capfd.readouterr().err == ""


def test_refuses_to_overwrite_unless_asked(run_kb: RunKB, base: Path, tmp_path: Path) -> None:
    (base / "sources" / "story.txt").write_text("mine\n")
    page = tmp_path / "p.txt"
    page.write_text("Plain text, kept as it is.\n")
    r = run_kb("-C", base, "snapshot", "story", page)
    assert r.code == 2 and "--replace" in r.err
    assert (base / "sources" / "story.txt").read_text() == "mine\n"
    assert run_kb("-C", base, "snapshot", "story", page, "--replace").code == 0
    assert (base / "sources" / "story.txt").read_text() == "Plain text, kept as it is.\n"


def test_control_characters_are_left_out_and_reported_in_a_snapshot(
    run_kb: RunKB, base: Path, tmp_path: Path
) -> None:
    """kb snapshot leaves control characters (a NUL, an escape) out of the text it archives,
    and says so; a snapshot written by hand that holds one is bad-encoding at its line and
    column (a NUL reached the site's HTML raw); text that is not UTF-8 says which byte."""
    page = tmp_path / "p.txt"
    page.write_bytes(b"We are seeing more\x00 cases\x1b[31m than last year.\r\n\f")
    r = run_kb("-C", base, "snapshot", "story", page)
    assert r.code == 0 and "2 control character(s) left out" in r.out
    text = (base / "sources" / "story.txt").read_text(encoding="utf-8")
    assert text == "We are seeing more cases[31m than last year.\n\f\n"
    (base / "sources" / "story.txt").write_bytes(b"Line one\nLine \x07two\n")
    r = run_kb("-C", base, "check")
    assert "sources/story.txt:2:6: error: the snapshot holds the control character U+0007" in r.out
    latin = tmp_path / "l.txt"
    latin.write_bytes(b"ok\ncaf\xe9\n")
    r = run_kb("-C", base, "snapshot", "story", latin, "--replace")
    assert r.code == 2 and "not UTF-8 text (byte 0xe9 on line 2)" in r.err


def test_a_pipe_or_a_device_is_refused_at_once(run_kb: RunKB, base: Path, tmp_path: Path) -> None:
    """kb snapshot reads a regular file only: a named pipe (nothing ever written to it) or a
    device such as /dev/zero is refused at once, and nothing is written."""
    fifo = tmp_path / "page.html"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        r = run_kb("-C", base, "snapshot", "story", path)
        assert r.code == 2 and "is not a regular file" in r.err
        assert not (base / "sources" / "story.txt").exists()


def test_a_file_url(run_kb: RunKB, base: Path, tmp_path: Path) -> None:
    page = tmp_path / "saved page.html"
    page.write_bytes(PAGE)
    assert run_kb("-C", base, "snapshot", "story", page.as_uri()).code == 0
    assert "Dr. Ana Ruiz" in (base / "sources" / "story.txt").read_text()


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/flu":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    httpd.daemon_threads = False  # server_close() waits for every request's thread
    thread = threading.Thread(target=httpd.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:  # no thread may outlive the test: kb forks helpers only when it runs alone
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_an_http_url(run_kb: RunKB, base: Path, server: str) -> None:
    r = run_kb("-C", base, "snapshot", "story", f"{server}/flu", "--date", "2024-10-02")
    assert r.code == 0, r.err
    assert "Dr. Ana Ruiz" in (base / "sources" / "story.txt").read_text()
    kb, problems = load_kb(base)
    src = kb.sources["story"]  # type: ignore[index]
    assert problems == [] and src.csl["URL"] == f"{server}/flu"
    assert src.csl["accessed"] == "2024-10-02"
    r = run_kb("-C", base, "snapshot", "story", f"{server}/gone", "--replace")
    assert r.code == 1 and "cannot fetch" in r.err


def test_a_page_saved_as_the_snapshot_is_a_warning_with_a_fix(run_kb: RunKB, base: Path) -> None:
    (base / "sources" / "story.txt").write_bytes(PAGE)
    _, _, checked = check_kb(base)
    (markup,) = [p for p in checked if p.code == "snapshot-markup"]
    assert markup.severity.value == "warning" and "kb snapshot story PAGE.html" in markup.message
