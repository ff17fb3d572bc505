"""
A real server and a real browser for the viewer's pages.

One Daphne process per test session, on a free port, with its own SQLite file
(migrated and seeded with ``seed_demo`` in subprocesses), and one headless
Chromium shared by the tests; each test opens its own browser contexts, so
cookies and localStorage never leak between viewers.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VENDORED = ROOT / "static" / "vendor" / "danmaku" / "danmaku.dom.min.js"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="session")
def server_env():
    """Environment of the server's processes: embedded defaults on a temp file DB."""
    tmp = Path(tempfile.mkdtemp(prefix="companion-e2e-"))
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'e2e.sqlite3'}",
        DEBUG="1",
        # Every test joins as new guests from one address.
        GUEST_RATE_COUNT="1000",
        # A few comments a second from the same test accounts are fine here.
        DANMAKU_RATE_COUNT="100",
        PYTHONUNBUFFERED="1",
    )
    yield tmp, env
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def server_process(server_env):
    """Start migrating and start Daphne at once (Daphne touches the database only per request)."""
    if not VENDORED.exists():
        result = subprocess.run(["bash", str(ROOT / "scripts" / "vendor.sh")], cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0 or not VENDORED.exists():
            pytest.fail(f"scripts/vendor.sh could not vendor the danmaku renderer:\n{result.stderr[-2000:]}")
    tmp, env = server_env
    migrate = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    port = free_port()
    log = open(tmp / "daphne.log", "w")
    daphne = Path(sys.executable).with_name("daphne")
    command = [str(daphne)] if daphne.exists() else [sys.executable, "-m", "daphne"]
    process = subprocess.Popen(
        command + ["-b", "127.0.0.1", "-p", str(port), "companion.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield migrate, process, f"http://127.0.0.1:{port}"
    finally:
        if migrate.poll() is None:
            migrate.kill()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@pytest.fixture(scope="session")
def site_url(server_env, server_process, browser):
    """Base URL of a migrated, seeded Daphne serving the whole app."""
    tmp, env = server_env
    migrate, process, base = server_process
    output, _ = migrate.communicate(timeout=120)
    if migrate.returncode != 0:
        pytest.fail(f"migrate failed:\n{output.decode()[-3000:]}")
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120
    )
    try:
        wait_for_health(f"{base}/healthz", process)
    except Exception:
        print((tmp / "daphne.log").read_text()[-4000:])
        raise
    return base


@pytest.fixture(scope="session")
def browser(server_process):
    """Headless Chromium (launched while the server gets ready)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_viewer(browser, site_url):
    """Open a page as a new, anonymous viewer (own cookies and storage)."""
    contexts = []

    def open_viewer(path="/events/demo/", **context_options):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, **context_options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(site_url + path)
        return page

    yield open_viewer
    for context in contexts:
        context.close()


def join_as_guest(page, name: str) -> None:
    """Use the room's join form; the server logs the guest in and sends them back."""
    page.fill("#join-name", name)
    page.get_by_role("button", name="Join as guest").click()
    page.wait_for_selector("[data-composer]")
    page.wait_for_selector('[data-conn][data-state="live"]')


@pytest.fixture
def guest(new_viewer):
    """A viewer who joined the demo room as a guest through the UI."""
    counter = iter(range(1000))

    def make(name=None, path="/events/demo/", **context_options):
        page = new_viewer(path, **context_options)
        join_as_guest(page, name or f"Guest {next(counter)}")
        return page

    return make
