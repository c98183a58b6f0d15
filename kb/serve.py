"""`kb serve`: build the site, serve it on 127.0.0.1, rebuild when a file changes, reload pages.

Only files of the site are served: a path is decoded once, refused if it holds an encoded slash,
a backslash, a NUL or a `.`/`..` segment, the resolved file must still lie under the output
directory (so a symlink cannot lead out either) and be named in the site's manifest (so nothing
kb did not write is served). A request whose `Host` is not 127.0.0.1 or localhost is refused:
a page that rebinds its own name to 127.0.0.1 (DNS rebinding) reads nothing. `kb serve` refuses
to start on a folder `kb build` would refuse. Served HTML pages get one extra
script, `/__kb/livereload.js`, which polls `/__kb/version.js` with a script tag (the pages' CSP
allows no fetch) and reloads the page when the version changes after a rebuild.
"""

from __future__ import annotations

import argparse
import gc
import mimetypes
import os
import re
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from kb.errors import KBError
from kb.output import MARKER, check_out_dir, read_manifest
from kb.reading.files import ParseCache, _inside
from kb.urls import DEFAULT_OUT

HOST = "127.0.0.1"
_GOOD_HOST = re.compile(r"(?:127\.0\.0\.1|localhost)(?::\d{1,5})?", re.IGNORECASE)
LIVE_PREFIX = "/__kb/"
LIVERELOAD_TAG = b'<script src="/__kb/livereload.js"></script>\n</body>'
WATCHED = ("kb.yaml", "claims", "experts", "sources")
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
          ".html": "text/html", ".json": "application/json", ".jsonld": "application/ld+json",
          ".bib": "text/plain", ".csv": "text/csv", ".graphml": "application/xml"}  # fmt: skip


class LiveState:
    """The site version that open pages compare with; it goes up after each good rebuild."""

    def __init__(self) -> None:
        self._version = 1
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        """The current version."""
        with self._lock:
            return self._version

    def bump(self) -> int:
        """Mark the site as rebuilt; return the new version."""
        with self._lock:
            self._version += 1
            return self._version


def resolve(out: Path, raw_path: str) -> Path | None:
    """Return the file under `out` that a request path names, or None when it is refused."""
    path = urlsplit(raw_path).path
    lowered = path.lower()
    if (
        not path.startswith("/")
        or "\\" in path
        or any(bad in lowered for bad in ("%2f", "%5c", "%00"))
    ):
        return None
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = decoded.split("/")[1:]
    if any(p in (".", "..") for p in parts):
        return None
    base = out.resolve()
    candidate = base.joinpath(*[p for p in parts if p])
    try:
        if candidate.is_dir():
            candidate = candidate / "index.html"
        target = candidate.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    if target.relative_to(base).as_posix() not in read_manifest(out).files:
        return None  # not a file kb wrote
    return target


def good_host(host: str | None) -> bool:
    """True when a request's Host header names this machine's loopback (with any port)."""
    return host is not None and _GOOD_HOST.fullmatch(host.strip()) is not None


def content_type(path: Path) -> str:
    """Return the Content-Type of a served file."""
    kind = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    kind = kind or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith(("json", "xml", "javascript")):
        kind += "; charset=utf-8"
    return kind


def make_handler(out: Path, live: LiveState) -> type[BaseHTTPRequestHandler]:
    """Return a request handler class that serves `out` and the live-reload endpoints."""
    from kb.site.jinja import CSP
    from kb.site.render import static_asset  # here: other commands need not load it

    class Handler(BaseHTTPRequestHandler):
        server_version = "kb-serve"
        timeout = 15  # a client that sends nothing does not hold a thread for ever

        def version_string(self) -> str:
            """Name the server without the Python version."""
            return self.server_version

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet; kb serve prints builds, not requests."""

        def do_HEAD(self) -> None:
            """Answer like GET, without the body."""
            self._answer(body=False)

        def do_GET(self) -> None:
            """Serve a file of the site, or a live-reload endpoint."""
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            try:
                status, ctype, data = self._lookup()
            except Exception:  # never let one request take the server down
                status, ctype, data = HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain", b"error\n"
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Referrer-Policy", "no-referrer")
                if ctype.startswith("text/html"):
                    self.send_header("Content-Security-Policy", CSP)
                self.end_headers()
                if body:
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _lookup(self) -> tuple[int, str, bytes]:
            if not good_host(self.headers.get("Host")):
                return HTTPStatus.MISDIRECTED_REQUEST, "text/plain; charset=utf-8", b"bad host\n"
            path = urlsplit(self.path).path
            if path == LIVE_PREFIX + "livereload.js":
                return (
                    HTTPStatus.OK,
                    "text/javascript; charset=utf-8",
                    static_asset("livereload.js"),
                )
            if path == LIVE_PREFIX + "version.js":
                js = f"window.KB_LIVE && window.KB_LIVE({live.version});\n"
                return HTTPStatus.OK, "text/javascript; charset=utf-8", js.encode()
            target = resolve(out, self.path)
            if target is None:
                return HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n"
            data = target.read_bytes()
            ctype = content_type(target)
            if ctype.startswith("text/html"):
                data = data.replace(b"</body>", LIVERELOAD_TAG, 1)
            return HTTPStatus.OK, ctype, data

    return Handler


def make_server(out: Path, port: int, live: LiveState) -> ThreadingHTTPServer:
    """Return an HTTP server bound to 127.0.0.1 only (port 0 picks a free port)."""
    server = ThreadingHTTPServer((HOST, port), make_handler(out, live))
    server.daemon_threads = True
    return server


def fingerprint(root: Path) -> dict[str, tuple[int, int]]:
    """Return (mtime, size) of every file the build reads: kb.yaml and the three record folders
    (not a link that leads outside the base: the build reads nothing there, nor does this)."""
    seen: dict[str, tuple[int, int]] = {}
    for name in WATCHED:
        path = root / name
        if not _watchable(path, root):
            continue
        try:
            if path.is_file():
                st = path.stat()
                seen[name] = (st.st_mtime_ns, st.st_size)
                continue
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.is_file():
                        st = entry.stat()
                        seen[f"{name}/{entry.name}"] = (st.st_mtime_ns, st.st_size)
        except OSError:
            continue
    return seen


def _watchable(path: Path, root: Path) -> bool:
    """False for a link that leads outside the base (the loader reports it and reads nothing
    there): what is behind it is neither looked at nor watched."""
    return not path.is_symlink() or _inside(path, root)


class _Watching(threading.Thread):
    """What both watchers share: a daemon thread that calls `rebuild` on a change until it is
    stopped, and goes on when a rebuild fails (it says so)."""

    def __init__(self, rebuild: Callable[[], None]) -> None:
        super().__init__(daemon=True, name="kb-watch")
        self.rebuild = rebuild
        self.stopped = threading.Event()

    def _logged(self, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception as exc:  # a failed rebuild must not stop the watching
            print(f"kb serve: rebuild failed: {exc}", file=sys.stderr)

    def stop(self) -> None:
        """Stop watching."""
        self.stopped.set()


class Watcher(_Watching):
    """Poll the knowledge base's files and call `rebuild` when any of them changes: what
    `kb serve --poll` does, and what EventWatcher falls back to when the system gives no notes
    of changed files. `last` is the fingerprint to compare the first poll with (by default the
    files as they are now)."""

    def __init__(
        self,
        root: Path,
        rebuild: Callable[[], None],
        interval: float = 0.5,
        last: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        super().__init__(rebuild)
        self.root = root
        self.interval = interval
        self.last = fingerprint(root) if last is None else last

    def poll(self) -> bool:
        """Check once; rebuild and return True when something changed."""
        now = fingerprint(self.root)
        if now == self.last:
            return False
        self.last = now
        self.rebuild()
        return True

    def run(self) -> None:
        """Poll until stopped."""
        while not self.stopped.wait(self.interval):
            self._logged(self.poll)


class EventWatcher(_Watching):
    """Call `rebuild` when the system says that a file the build reads changed (inotify on
    Linux, FSEvents on macOS, ReadDirectoryChangesW on Windows, through watchfiles).

    Polling stats every file every 0.5 s: 50 ms of CPU each time at 10,000 claims, 0.5 s at
    100,000 (half a core, and a change seen up to a second late). The system's notes cost
    next to nothing while nothing changes (the watch wakes once a second to look at the record
    folders and whether it is stopped) and come at once. Watched are the base's folder itself
    (for kb.yaml and the record folders coming and going) and each record folder, none of them
    recursively, so the output and cache folders are not watched; hidden files, which the build
    does not read (an editor's swap file changes every few seconds), are left out. When a
    record folder comes or goes, the watch is set up again after the rebuild.

    A new watch notes nothing from before it was set up: `last` is the fingerprint taken
    before the first build, so that a change made while that build ran (a minute at 100,000
    claims) is rebuilt as soon as the watch is set up; before a record folder's rebuild the
    fingerprint is taken again, so that a file put in the new folder before it is watched is
    rebuilt too. Where the system gives no such notes (no inotify watch left, some network file
    systems), this says so and polls.
    """

    def __init__(
        self,
        root: Path,
        rebuild: Callable[[], None],
        last: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        super().__init__(rebuild)
        self.root = os.path.abspath(root)
        self.last = last
        self.watching = threading.Event()  # set once a watch is set up (or polling began)
        self.polling = False  # set when it fell back to polling

    def folders(self) -> tuple[str, ...]:
        """The record folders there are now (links to folders in the base too: the loader
        reads them; not links that lead outside it)."""
        base = Path(self.root)
        return tuple(
            path
            for name in WATCHED
            if os.path.isdir(path := os.path.join(self.root, name)) and _watchable(Path(path), base)
        )

    def wanted(self, change: Any, path: str) -> bool:
        """Whether a change to `path` may change the site: kb.yaml, a record folder, or a
        file in one; never a hidden file."""
        folder, name = os.path.split(path)
        if name.startswith("."):
            return False
        if folder == self.root:
            return name in WATCHED
        up, kind = os.path.split(folder)
        return up == self.root and kind in WATCHED

    def run(self) -> None:
        """Watch until stopped; poll instead when the system gives no notes."""
        try:
            self._watch()
        except Exception as exc:  # no notes to be had: poll (the server goes on either way)
            if self.stopped.is_set():
                return
            print(
                f"kb serve: the system gives no notes of changed files ({exc}); "
                "checking the files every 0.5 s instead",
                file=sys.stderr,
            )
            self.polling = True
            poller = Watcher(Path(self.root), self.rebuild, last=self.last)
            poller.stopped = self.stopped
            self.watching.set()
            poller.run()

    def _watch(self) -> None:
        import watchfiles  # here: only `kb serve` needs it

        while not self.stopped.is_set():
            folders = self.folders()
            fresh = True  # a new watch: what changed before it was set up was not noted
            try:
                # a second at most between looks at `stopped`
                for changes in watchfiles.watch(
                    self.root,
                    *folders,
                    watch_filter=self.wanted,
                    recursive=False,
                    step=50,
                    stop_event=self.stopped,
                    rust_timeout=1000,
                    yield_on_timeout=True,
                    raise_interrupt=False,
                ):
                    # the watch is set up: did anything change since the files were last
                    # looked at (before the first build, or before a record folder's rebuild)?
                    missed = fresh and self.last not in (None, fingerprint(Path(self.root)))
                    fresh = False
                    self.watching.set()
                    moved = self.folders() != folders  # a record folder came or went
                    if moved:  # it is watched anew after the rebuild: note the files first
                        self.last = fingerprint(Path(self.root))
                    if changes or missed or moved:
                        self._logged(self.rebuild)
                    if moved:
                        break
            except FileNotFoundError:  # a folder went just as the watch was set up (or the
                self.stopped.wait(0.5)  # base itself went: then look again twice a second)


def _build(root: Path, out: Path, cache: ParseCache | None = None) -> int:
    from kb.build import build  # here: the server's own code needs none of the build's

    try:
        return build(root, out, parse_cache=cache).exit_code
    except (KBError, OSError) as exc:  # the server goes on with the previous site
        print(f"kb serve: build failed: {exc}", file=sys.stderr)
        return 2


def handler(args: argparse.Namespace) -> int:
    """Build, serve on 127.0.0.1, rebuild on change; return the exit code on Ctrl-C."""
    root = Path(args.root)
    out = Path(args.out) if args.out else root / DEFAULT_OUT
    try:
        check_out_dir(out, root)  # never serve a folder the build would refuse
    except KBError as exc:
        print(f"kb serve: {exc}", file=sys.stderr)
        return 2
    live = LiveState()
    cache: ParseCache = {}  # parsed files by content hash: a rebuild parses only changes
    before = fingerprint(root)  # a change made while the first build runs is rebuilt after it
    code = _build(root, out, cache)
    if code != 0:
        if not (out / MARKER).is_file() or out.is_symlink():
            print(f"kb serve: the first build failed and {out} holds no site", file=sys.stderr)
            return 2
        print("kb serve: the first build failed; serving the previous site", file=sys.stderr)

    def rebuild() -> None:
        print("kb serve: change seen, rebuilding", file=sys.stderr)
        if _build(root, out, cache) == 0:
            live.bump()
        gc.collect()  # what the last build left, while the browser reloads: memory stays flat

    try:
        server = make_server(out, args.port, live)
    except OSError as exc:
        print(f"kb serve: cannot listen on {HOST}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    watcher: Watcher | EventWatcher
    if args.poll:
        watcher = Watcher(root, rebuild, last=before)
    else:
        watcher = EventWatcher(root, rebuild, last=before)
    watcher.start()
    port = server.server_address[1]
    print(f"kb serve: http://{HOST}:{port}/ (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
        server.server_close()
    return 0
