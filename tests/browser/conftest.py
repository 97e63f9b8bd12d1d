"""Browser tests: the app on a free loopback port in a thread, with a fresh SQLite
workspace (customers and products of the demo), driven by Playwright for Python in the
Debian `chromium` package (never a downloaded browser). Each test saves a screenshot under
var/artifacts/screenshots/.

Without /usr/bin/chromium (or without Playwright) the tests skip with the reason, unless
O2C_REQUIRE_BROWSER=1 (set by .ci/run), where they fail instead."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from engine.demo import seed
from engine.runtime import Runtime
from engine.settings import load_config
from engine.store.db import upgrade
from tests.conftest import ROOT, write_config
from web.app import create_app
from web.users import set_password

CHROMIUM = Path(os.environ.get("O2C_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
SCREENSHOTS = ROOT / "var" / "artifacts" / "screenshots"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    problem = _missing()
    if problem:
        if os.environ.get("O2C_REQUIRE_BROWSER") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Server:
    url: str
    rt: Runtime
    password: str
    user: str = "admin@example.com"

    def path_of(self, link: str) -> str:
        """A link the app made with its configured base URL, on this server instead."""
        return self.url + "/" + link.split("://", 1)[-1].split("/", 1)[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    config = write_config(tmp_path / "ws", f"sqlite:///{tmp_path / 'o2c.sqlite'}")
    rt = Runtime.open(load_config(config))
    upgrade(rt.config.database_url)
    seed(rt)
    password = set_password(rt, "admin@example.com", "admin")
    app = create_app(rt)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{http.server_port}", rt, password)
    finally:
        http.shutdown()
        thread.join(timeout=10)
        rt.close()


@pytest.fixture
def page(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.replace("/", "_").replace("[", "_").replace("]", "")
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()


def shot(page: Any, name: str) -> None:
    """A screenshot of the page as it is now, beside the one taken at the test's end."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.fill("input[name=email]", server.user)
    page.fill("input[name=password]", server.password)
    page.click("button:has-text('Log in')")
    page.wait_for_selector("h1:has-text('Dashboard')")
