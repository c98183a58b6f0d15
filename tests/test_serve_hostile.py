"""`kb serve` under attack: raw request lines, traversal in every spelling, links out, junk headers.

tests/test_serve.py covers the server's ordinary behaviour and the common traversals; this module
sends what a hostile local page or client could: absolute-URI request lines, encodings of `..`
that some servers decode twice, a directory link leading out of the site, oversized and
malformed headers, pipelined requests and an idle connection. After each, the server must still
answer, and nothing outside the output folder may ever be sent.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.serve import LiveState, make_server
from tests.test_serve import write_manifest

SECRET = b"outside-secret-5b1e"
VALID = Path(__file__).resolve().parent / "data" / "valid"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A small site whose folder has links out, next to secrets that must never be served."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "key.txt").write_bytes(SECRET)
    out = tmp_path / "site"
    (out / "static").mkdir(parents=True)
    (out / "index.html").write_bytes(b"<!doctype html><html><body><p>home</p></body></html>")
    (out / "static" / "site.css").write_bytes(b"body{}")
    (out / "linked-dir").symlink_to(tmp_path / "private")
    (out / "static" / "linked.css").symlink_to(tmp_path / "secret.txt")
    write_manifest(out)
    return out


@pytest.fixture
def port(site: Path) -> Iterator[int]:
    """A server for `site` on a free port of 127.0.0.1, stopped after the test."""
    httpd = make_server(site, 0, LiveState())
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd.server_address[1]
        assert thread.is_alive(), "the server thread died"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def raw(port: int, data: bytes, wait: float = 5.0) -> bytes:
    """Send bytes exactly as given, close our side, and return everything the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        chunks = []
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the server may answer and close before a long request is all sent
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except OSError:  # a timeout, or a reset after the server answered
            pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    """The status code of the first response in `answer` (0 if there is none)."""
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    return int(m.group(1)) if m else 0


def still_serves(port: int) -> None:
    """The server answers a plain request with the home page."""
    answer = raw(port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert status_of(answer) == 200 and b"<p>home</p>" in answer


TRAVERSALS = [
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/..%2fsecret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/static/..%2F..%2Fsecret.txt",
    "/static/%2e%2e/%2e%2e/secret.txt",
    "/%252e%252e/%252e%252e/secret.txt",
    "/..%252fsecret.txt",
    "/..;/secret.txt",
    "/static/..\\..\\secret.txt",
    "/%5c..%5csecret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/%ef%bc%8e%ef%bc%8e/secret.txt",
    "//etc/passwd",
    "///secret.txt",
    "/linked-dir/key.txt",
    "/linked-dir/",
    "/static/linked.css",
    "/index.html/../../secret.txt",
    "/index.html%00/../../secret.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_spelling_of_a_way_out_is_served(port: int, path: str) -> None:
    """Every traversal, in origin form and as an absolute URI, gets no byte from outside."""
    for target in (path, f"http://127.0.0.1:{port}{path}", f"http://evil.example{path}"):
        request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        answer = raw(port, request)
        assert status_of(answer) in (400, 404), (target, answer[:80])
        assert SECRET not in answer, target
    still_serves(port)


MALFORMED = {
    "a header line over 64 KiB": b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "two hundred headers": b"GET / HTTP/1.1\r\n" + b"X-N: 1\r\n" * 200 + b"\r\n",
    "a header without a colon": b"GET / HTTP/1.1\r\nHost localhost\r\n\r\n",
    "bytes that are not text": b"GET / HTTP/1.1\r\nX-Bin: \xff\xfe\x00\x01\r\n\r\n",
    "a folded header": b"GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n",
    "a body on a GET that never comes": b"GET / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n",
    "chunked GET": b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "a lone line feed": b"\n",
    "nothing but spaces": b"     \r\n\r\n",
    "a request line with no path": b"GET HTTP/1.1\r\n\r\n",
    "a method with no target": b"GET\r\n\r\n",
    "an asterisk target": b"OPTIONS * HTTP/1.1\r\n\r\n",
    "a CONNECT tunnel": b"CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n",
    "a POST": b"POST /index.html HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "TLS hello": bytes.fromhex("16030100a5010000a10303") + bytes(64),
    "a request line over 64 KiB": b"GET /" + b"%2e" * 30_000 + b" HTTP/1.1\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_requests_do_no_harm(port: int, name: str) -> None:
    """Each gets an error or nothing, never a secret, and the server goes on serving."""
    answer = raw(port, MALFORMED[name])
    assert SECRET not in answer
    assert status_of(answer) != 500, answer[:120]
    still_serves(port)


def test_pipelined_requests_are_each_checked(port: int) -> None:
    """A good request followed on the same connection by a traversal: the second is refused."""
    answer = raw(
        port,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"GET /../secret.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )
    assert answer.count(b"HTTP/1.") >= 1 and b"<p>home</p>" in answer
    assert SECRET not in answer


def test_an_idle_connection_does_not_block_others(port: int) -> None:
    """A client that connects and says nothing does not stop the next one being served (a
    blocked server would make still_serves' own request time out and fail)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        still_serves(port)


def test_kb_serve_listens_on_loopback_only(tmp_path: Path) -> None:
    """The real command: it says 127.0.0.1, answers there, and not on 127.0.0.2."""
    import shutil

    root = tmp_path / "kb"
    shutil.copytree(VALID, root, ignore=shutil.ignore_patterns(".kb-cache"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb", "-C", str(root), "serve", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = ""
        deadline = time.monotonic() + 120
        while "http://" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "kb serve stopped"
        m = re.search(r"http://([\d.]+):(\d+)/", line)
        assert m is not None, line
        host, port = m.group(1), int(m.group(2))
        assert host == "127.0.0.1"
        assert status_of(raw(port, b"GET / HTTP/1.1\r\nHost: localhost:8000\r\n\r\n")) == 200
        with pytest.raises(OSError), socket.create_connection(("127.0.0.2", port), timeout=2):
            pass
    finally:
        proc.terminate()
        proc.wait(10)


# --- issue 20, finding 2: a folder the build refused, files kb did not write, DNS rebinding --


@pytest.mark.parametrize(
    "host",
    [b"evil.example", b"evil.example:8000", b"127.0.0.1.evil.example", b"localhost.evil", b""],
)
def test_a_foreign_host_reads_nothing(port: int, host: bytes) -> None:
    """A page that rebinds its own name to 127.0.0.1 sends its name as Host: refused."""
    answer = raw(port, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert status_of(answer) == 421 and b"home" not in answer
    answer = raw(port, b"GET / HTTP/1.0\r\n\r\n")  # no Host at all
    assert status_of(answer) == 421 and b"home" not in answer
    for good in (b"127.0.0.1", b"localhost", b"LOCALHOST:9", b"127.0.0.1:8000"):
        assert status_of(raw(port, b"GET / HTTP/1.1\r\nHost: " + good + b"\r\n\r\n")) == 200


def test_only_files_in_the_manifest_are_served(site: Path, port: int) -> None:
    """A file put into the site by hand (a key under a dot folder, a .git/config) is not served,
    nor the manifest itself."""
    (site / ".git").mkdir()
    (site / ".git" / "config").write_bytes(SECRET)
    (site / "notes.txt").write_bytes(SECRET)
    for path in ("/.git/config", "/notes.txt", "/.kb-site"):
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        answer = raw(port, request)
        assert status_of(answer) == 404 and SECRET not in answer


def run_serve(root: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run `kb serve` that must refuse to start (a timeout fails the test)."""
    return subprocess.run(
        [sys.executable, "-m", "kb", "-C", str(root), "serve", "--port", "0", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_kb_serve_refuses_a_folder_the_build_refuses(tmp_path: Path) -> None:
    """`kb serve --out` on the user's folder (not a kb site) or on the base itself: exit 2,
    nothing served, nothing touched."""
    import shutil

    root = tmp_path / "kb"
    shutil.copytree(VALID, root, ignore=shutil.ignore_patterns(".kb-cache"))
    private = tmp_path / "home"
    (private / ".ssh").mkdir(parents=True)
    (private / ".ssh" / "id_ed25519").write_bytes(SECRET)
    for out in (private, root):
        got = run_serve(root, "--out", out)
        assert got.returncode == 2, got.stderr
        assert "refused" in got.stderr and "http://" not in got.stderr
    assert (private / ".ssh" / "id_ed25519").read_bytes() == SECRET
