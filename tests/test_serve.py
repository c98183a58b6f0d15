"""`kb serve`: only the site is served, bad requests do no harm, changes rebuild and reload."""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb import serve
from kb.output import MARKER
from kb.serve import EventWatcher, LiveState, Watcher, fingerprint, make_server, resolve


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A small site next to a secret file that must never be served."""
    (tmp_path / "secret.txt").write_text("top secret")
    out = tmp_path / "site"
    (out / "claims").mkdir(parents=True)
    (out / "index.html").write_text("<!doctype html><html><body><p>home</p></body></html>")
    (out / "claims" / "a b.html").write_text("<html><body>a b</body></html>")
    (out / "search-index.js").write_text("window.KB_SEARCH = {};\n")
    (out / "escape").symlink_to(tmp_path / "secret.txt")
    write_manifest(out)
    return out


def write_manifest(out: Path) -> None:
    """Name the regular files under `out` in its manifest, as kb does (links are not named)."""
    files = {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
    (out / MARKER).write_text(json.dumps({"generator": "kb", "files": files}))


@pytest.fixture
def server(site_dir: Path) -> Iterator[tuple[int, LiveState]]:
    """A running server on a free port of 127.0.0.1."""
    live = LiveState()
    httpd = make_server(site_dir, 0, live)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd.server_address[1], live
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send one request with the path exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def test_binds_to_loopback_only(server: tuple[int, LiveState], site_dir: Path) -> None:
    """The server listens on 127.0.0.1, never on every interface."""
    httpd = make_server(site_dir, 0, LiveState())
    try:
        assert httpd.server_address[0] == "127.0.0.1"
    finally:
        httpd.server_close()


def test_serves_pages_with_live_reload(server: tuple[int, LiveState]) -> None:
    """Pages are served with the live-reload script added; other files unchanged."""
    port, _ = server
    status, headers, body = get(port, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<script src="/__kb/livereload.js"></script>\n</body>' in body
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    status, headers, body = get(port, "/search-index.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert body == b"window.KB_SEARCH = {};\n"
    assert get(port, "/claims/a%20b.html")[0] == 200
    status, _, body = get(port, "/index.html", "HEAD")
    assert status == 200 and body == b""


def test_version_endpoint_follows_rebuilds(server: tuple[int, LiveState]) -> None:
    """/__kb/version.js reports the version that open pages compare; a rebuild bumps it."""
    port, live = server
    assert get(port, "/__kb/version.js")[2] == b"window.KB_LIVE && window.KB_LIVE(1);\n"
    live.bump()
    assert get(port, "/__kb/version.js?t=5")[2] == b"window.KB_LIVE && window.KB_LIVE(2);\n"
    status, _, body = get(port, "/__kb/livereload.js")
    assert status == 200 and b"KB_LIVE" in body


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/claims/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/claims/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/claims%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/%252e%252e/secret.txt",
        "/index.html%00.js",
        "/escape",
        "//etc/passwd",
        "/etc/passwd",
        "/%c0%ae%c0%ae/secret.txt",
        "/./index.html",
        "/nope.html",
    ],
)
def test_nothing_outside_the_site_is_served(server: tuple[int, LiveState], path: str) -> None:
    """Traversal by ../, %2e%2e, encoded slashes, backslashes, NUL or symlinks is refused."""
    port, _ = server
    status, _, body = get(port, path)
    assert status == 404
    assert b"secret" not in body


def test_resolve_refuses_what_leaves_the_folder(site_dir: Path) -> None:
    """resolve() answers None for every way out, and the file for a good path."""
    assert resolve(site_dir, "/") == (site_dir / "index.html").resolve()
    assert resolve(site_dir, "/claims/a%20b.html") == (site_dir / "claims" / "a b.html").resolve()
    for bad in ("/../secret.txt", "/escape", "relative", "/%ff%fe", "/claims/"):
        assert resolve(site_dir, bad) is None


def test_survives_malformed_requests(server: tuple[int, LiveState]) -> None:
    """Garbage, an unknown method, a huge line or a silent client do not stop the server."""
    port, _ = server
    for raw in (
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"BREW /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"GET /index.html HTTP/9.9\r\n\r\n",
        b"\x00\xff\xfe\r\n\r\n",
        b"GET /index.html HTTP/1.1\r\nBad Header Line\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            s.recv(200)
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # connect and hang up without a word
    assert get(port, "/")[0] == 200


def test_watcher_rebuilds_when_a_file_changes(tmp_path: Path) -> None:
    """Adding, changing or removing a record calls rebuild; an unchanged tree does not."""
    (tmp_path / "claims").mkdir()
    claim = tmp_path / "claims" / "a.yaml"
    claim.write_text("statement: A.\n")
    calls: list[int] = []
    watcher = Watcher(tmp_path, lambda: calls.append(1))
    assert watcher.poll() is False
    claim.write_text("statement: A changed.\n")
    assert watcher.poll() is True
    (tmp_path / "kb.yaml").write_text("title: T\n")
    assert watcher.poll() is True
    claim.unlink()
    assert watcher.poll() is True
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("x")
    assert watcher.poll() is False, "the output folder is not watched"
    assert len(calls) == 3


class _Rebuilds:
    """A rebuild callback that counts its calls and lets a test wait for the next one."""

    def __init__(self) -> None:
        self.calls = 0
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.calls += 1
            self._cond.notify_all()

    def wait_for(self, calls: int) -> int:
        """Wait until there were `calls` calls (a minute at most: a guard against a hang, not
        a bound on the time); return how many there were."""
        with self._cond:
            self._cond.wait_for(lambda: self.calls >= calls, timeout=60)
            return self.calls


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Path, _Rebuilds, EventWatcher]]:
    """A base with one claim, watched by the system's notes from the files as they are now."""
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "a.yaml").write_text("statement: A.\n")
    rebuilds = _Rebuilds()
    watcher = EventWatcher(tmp_path, rebuilds, last=fingerprint(tmp_path))
    watcher.start()
    try:
        yield tmp_path, rebuilds, watcher
    finally:
        watcher.stop()
        watcher.join(10)
    assert not watcher.is_alive()


def test_event_watcher_rebuilds_on_each_change_the_build_reads(
    watched: tuple[Path, _Rebuilds, EventWatcher],
) -> None:
    """A changed, added or removed record, kb.yaml, and a record folder that appears (whose
    files are then watched too) each bring a rebuild; the watcher does not poll."""
    root, rebuilds, watcher = watched
    steps = [
        lambda: (root / "claims" / "a.yaml").write_text("statement: A changed.\n"),
        lambda: (root / "claims" / "b.yaml").write_text("statement: B.\n"),
        lambda: (root / "kb.yaml").write_text("title: T\n"),
        lambda: (root / "claims" / "b.yaml").unlink(),
        lambda: (root / "experts").mkdir(),
        lambda: (root / "experts" / "e.yaml").write_text("name: E\n"),
    ]
    for step in steps:
        before = rebuilds.calls
        step()
        assert rebuilds.wait_for(before + 1) > before
    assert not watcher.polling


def test_event_watcher_rebuilds_a_change_made_before_the_watch_was_set_up(
    tmp_path: Path,
) -> None:
    """`last` is the fingerprint taken before the first build: a change made while that build
    ran, before there was a watch to note it, is rebuilt once the watch is set up."""
    (tmp_path / "claims").mkdir()
    claim = tmp_path / "claims" / "a.yaml"
    claim.write_text("statement: A.\n")
    last = fingerprint(tmp_path)
    claim.write_text("statement: A, changed during the first build.\n")
    rebuilds = _Rebuilds()
    watcher = EventWatcher(tmp_path, rebuilds, last=last)
    watcher.start()
    try:
        assert rebuilds.wait_for(1) == 1
    finally:
        watcher.stop()
        watcher.join(10)


def test_event_watcher_rebuilds_a_file_added_to_a_new_folder_before_it_is_watched(
    tmp_path: Path,
) -> None:
    """A record folder that appears is watched once the rebuild it brought is done; a file put
    in it before then (here: while that rebuild runs) is rebuilt too."""
    rebuilds = _Rebuilds()

    def rebuild() -> None:
        if rebuilds.calls == 0:  # the rebuild for the new folder: a file lands in it meanwhile
            (tmp_path / "experts" / "e.yaml").write_text("name: E\n")
        rebuilds()

    watcher = EventWatcher(tmp_path, rebuild, last=fingerprint(tmp_path))
    watcher.start()
    try:
        assert watcher.watching.wait(60)
        (tmp_path / "experts").mkdir()
        assert rebuilds.wait_for(2) == 2
    finally:
        watcher.stop()
        watcher.join(10)


def test_a_failed_rebuild_does_not_stop_the_watching(
    watched: tuple[Path, _Rebuilds, EventWatcher], capsys: pytest.CaptureFixture[str]
) -> None:
    """A rebuild that raises is reported; the next change is rebuilt all the same."""
    root, rebuilds, watcher = watched
    real = watcher.rebuild

    def fail_once() -> None:
        real()
        if rebuilds.calls == 1:
            raise OSError("disk full")

    watcher.rebuild = fail_once
    (root / "claims" / "a.yaml").write_text("statement: A changed.\n")
    assert rebuilds.wait_for(1) == 1
    (root / "claims" / "a.yaml").write_text("statement: A changed again.\n")
    assert rebuilds.wait_for(2) == 2
    assert watcher.is_alive()
    assert "kb serve: rebuild failed: disk full" in capsys.readouterr().err


def test_event_watcher_leaves_out_hidden_files_the_output_and_sub_folders(tmp_path: Path) -> None:
    """What the build does not read brings no rebuild: hidden files (an editor's swap file),
    the output and cache folders, files in a record folder's sub-folders."""
    watcher = EventWatcher(tmp_path, lambda: None)
    root = watcher.root
    wanted = [
        ("kb.yaml",),
        ("claims",),
        ("sources",),
        ("claims", "a.yaml"),
        ("sources", "s.txt"),
        ("experts", "stray.txt"),  # the build reports it: a change to it matters
        ("claims", "sub"),  # a folder in a record folder is reported too
    ]
    unwanted = [
        ("site",),
        (".kb-cache",),
        ("README.md",),
        ("claims", ".a.yaml.swp"),
        ("claims", "sub", "x.yaml"),
        ("site", "claims", "a.html"),
        (".kb-cache", "readings.sqlite3"),
    ]
    for parts in wanted:
        assert watcher.wanted(None, "/".join((root, *parts))), parts
    for parts in unwanted:
        assert not watcher.wanted(None, "/".join((root, *parts))), parts


def test_nothing_behind_a_link_that_leads_outside_the_base_is_looked_at(tmp_path: Path) -> None:
    """A record folder or kb.yaml that links outside the base is refused by the loader: the
    watchers neither list nor watch what is behind it. A link inside the base is followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("statement: not ours\n")
    (outside / "kb.yaml").write_text("title: not ours\n")
    base = tmp_path / "base"
    base.mkdir()
    (base / "claims").symlink_to(outside)
    (base / "kb.yaml").symlink_to(outside / "kb.yaml")
    (base / "real").mkdir()
    (base / "real" / "a.yaml").write_text("name: A\n")
    (base / "experts").symlink_to(base / "real")
    assert fingerprint(base).keys() == {"experts/a.yaml"}
    watcher = EventWatcher(base, lambda: None)
    assert watcher.folders() == (str(base / "experts"),)


def test_event_watcher_polls_when_the_system_gives_no_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the watch cannot be set up (no inotify watch left), it says so and polls."""
    import watchfiles

    def refuse(*args: object, **kwargs: object) -> Iterator[set[tuple[object, str]]]:
        raise OSError("OS file watch limit reached")
        yield set()  # a generator, as watchfiles.watch is

    monkeypatch.setattr(watchfiles, "watch", refuse)
    (tmp_path / "claims").mkdir()
    rebuilds = _Rebuilds()
    watcher = EventWatcher(tmp_path, rebuilds, last=fingerprint(tmp_path))
    watcher.start()
    try:
        (tmp_path / "claims" / "a.yaml").write_text("statement: A.\n")
        assert rebuilds.wait_for(1) == 1
        assert watcher.polling
    finally:
        watcher.stop()
        watcher.join(10)
    err = capsys.readouterr().err
    assert "the system gives no notes of changed files (OS file watch limit reached)" in err


@pytest.mark.parametrize("poll", [False, True], ids=["notes", "poll"])
def test_serve_command_builds_serves_and_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, poll: bool
) -> None:
    """The handler builds first, serves, and bumps the version after a good rebuild, with the
    system's notes of changed files or (`--poll`) by polling."""
    builds: list[Path] = []

    def fake_build(root: Path, out: Path, cache: object = None) -> int:
        builds.append(out)
        out.mkdir(exist_ok=True)
        (out / "index.html").write_text(f"<html><body>build {len(builds)}</body></html>")
        write_manifest(out)
        return 0

    started: dict[str, object] = {}
    real_make_server = serve.make_server

    def spy_make_server(out: Path, port: int, live: LiveState) -> object:
        httpd = real_make_server(out, port, live)
        started["httpd"], started["live"] = httpd, live
        return httpd

    monkeypatch.setattr(serve, "_build", fake_build)
    monkeypatch.setattr(serve, "make_server", spy_make_server)
    (tmp_path / "claims").mkdir()
    args = argparse.Namespace(root=tmp_path, out=None, port=0, poll=poll)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(serve.handler(args)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while "httpd" not in started and time.monotonic() < deadline:
            time.sleep(0.02)
        httpd = started["httpd"]
        port = httpd.server_address[1]  # type: ignore[attr-defined]
        assert b"build 1" in get(port, "/")[2]
        (tmp_path / "claims" / "new.yaml").write_text("statement: New.\n")
        while len(builds) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b"build 2" in get(port, "/")[2]
        assert started["live"].version == 2  # type: ignore[attr-defined]
    finally:
        started["httpd"].shutdown()  # type: ignore[attr-defined]
        thread.join(5)
    assert result == [0]
    assert builds[0] == tmp_path / "site"
