"""
"Catch me up" in a real browser: the latest AI summary in the viewer's language.

Summaries are written by the live server itself: a superuser's token POSTs to
the summaries API, and the embedded default (eager Celery, offline writer) runs
the task inside that request, so the `summary` frames reach the open pages.
"""
import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import ROOT

pytestmark = pytest.mark.e2e

LANGUAGES = ["en", "zh", "it"]
SETUP = """
from accounts.models import User
from events.models import Event
from rest_framework.authtoken.models import Token
event = Event.objects.get(slug="demo")
event.summary_languages = %r
event.save(update_fields=["summary_languages"])
user = User.objects.filter(username="e2e-summaries").first() or User.objects.create_superuser(
    "e2e-summaries", "e2e-summaries@example.com", "not-used-" + "x" * 12)
print(Token.objects.get_or_create(user=user)[0].key)
""" % (LANGUAGES,)


@pytest.fixture(scope="module")
def producer(site_url, server_env):
    """The demo event offers en, zh and it; returns a call(method, path, body) as a superuser (API token)."""
    _, env = server_env
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", SETUP],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=60,
    )
    token = result.stdout.strip().splitlines()[-1]

    def call(method, path, body=None):
        request = urllib.request.Request(
            site_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"null")

    return call


def write_summaries(producer) -> dict[str, dict]:
    """Something new (a comment), then a summary in every language; returns the latest per language."""
    status, _ = producer("POST", "/api/events/demo/danmaku/", {"text": f"news {uuid.uuid4().hex[:6]}", "media_ms": 1000})
    assert status == 201
    status, body = producer("POST", "/api/events/demo/summaries/", {})
    assert status == 202 and body["queued"] == LANGUAGES
    latest = {}
    for lang in LANGUAGES:
        _, body = producer("GET", f"/api/events/demo/summaries/?lang={lang}&limit=1")
        latest[lang] = body["results"][0]
    return latest


def panel_text(page):
    return page.locator("[data-summary-text]")


def screenshot(target, name: str) -> None:
    """With E2E_SCREENSHOTS=<folder>, save a PNG of a page or an element there, to look at."""
    folder = os.environ.get("E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(Path(folder) / name))


def test_catch_me_up_shows_the_chosen_language_and_follows_it_live(producer, new_viewer):
    first = write_summaries(producer)
    assert len({s["text"] for s in first.values()}) == 3  # the offline writer speaks each language

    page = new_viewer()
    asked = []
    page.on("request", lambda request: "/summaries/" in request.url and asked.append(request.url))
    panel = page.get_by_role("region", name="Catch me up")
    expect(panel).to_be_visible()
    # The hello carries the first language: no request for it.
    expect(panel_text(page)).to_have_text(first["en"]["text"])
    expect(panel_text(page)).to_have_attribute("aria-live", "polite")
    expect(panel.locator("[data-summary-updated]")).to_have_text(re.compile(r"^Updated (just now|\d+ s ago)$"))
    expect(panel.locator("[data-summary-covers]")).to_have_text(re.compile(r"^covers (up to )?[\d:]+(–[\d:]+)?$"))
    expect(panel.locator("[data-summary-stale]")).to_be_hidden()
    assert asked == []

    picker = page.get_by_label("Summary language")
    expect(picker.locator("option")).to_have_count(3)
    picker.select_option("zh")
    expect(panel_text(page)).to_have_text(first["zh"]["text"])
    expect(panel_text(page)).to_have_attribute("lang", "zh")
    assert len(asked) == 1 and "lang=zh" in asked[0] and "limit=1" in asked[0]
    assert page.evaluate("localStorage.getItem('companion:summary-lang')") == "zh"

    # A new round while zh is shown: it arrives live, and the other languages are kept.
    second = write_summaries(producer)
    assert second["zh"]["id"] != first["zh"]["id"]
    expect(panel_text(page)).to_have_text(second["zh"]["text"])
    screenshot(panel, "summary-zh.png")
    # The room flushes frames per tick: wait until every language's has landed.
    page.wait_for_function(
        "(ids) => Object.entries(ids).every(([lang, id]) => window.companionSummary.byLang.get(lang)?.id === id)",
        arg={lang: s["id"] for lang, s in second.items()},
    )
    picker.select_option("it")
    expect(panel_text(page)).to_have_text(second["it"]["text"])
    picker.select_option("en")
    expect(panel_text(page)).to_have_text(second["en"]["text"])
    assert len(asked) == 1  # both came by frame: switching was instant
    screenshot(page, "summary-desktop.png")

    # The choice outlives the page.
    picker.select_option("zh")
    page.reload()
    expect(page.get_by_label("Summary language")).to_have_value("zh")
    expect(panel_text(page)).to_have_text(second["zh"]["text"])
    assert not page.errors


def test_stale_badge_clock_alignment_and_text_only(producer, new_viewer):
    """The frames the room re-dispatches, as the server would send them (an outage cannot be staged here)."""
    page = new_viewer()
    expect(page.locator('[data-conn][data-state="live"]')).to_be_visible()
    expect(page.locator('[data-summary-panel][data-state="ready"]')).to_be_visible()
    shown = panel_text(page).text_content()
    badge = page.locator("[data-summary-stale]")

    def send(frame):
        page.evaluate("(frame) => document.dispatchEvent(new CustomEvent('companion:frame', { detail: frame }))", frame)

    send({"type": "notice", "level": "warning", "code": "summary_stale", "message": "The summary service is not answering."})
    expect(badge).to_be_visible()
    expect(badge).to_have_text("May be out of date")
    screenshot(page.locator("[data-summary-panel]"), "summary-stale.png")
    expect(panel_text(page)).to_have_text(shown)

    # "Updated N s ago" counts on the server's clock (here an hour ahead of the browser's).
    lang = page.get_by_label("Summary language").input_value()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    markup = "<img src=x onerror=alert(1)><b>Score</b>: 2–1"
    page.evaluate(
        """([markup, lang]) => {
            const server = Date.now() + 3_600_000;
            const fire = (frame) => document.dispatchEvent(new CustomEvent('companion:frame', { detail: frame }));
            fire({ type: 'hello', server_time_ms: server, summary: null });
            fire({ type: 'summary', summary: { id: 10_000_000, text: markup, lang, created_at: new Date(server - 42_000).toISOString(),
                    created_at_ms: server - 42_000, covers_from_ms: 720_000, covers_to_ms: 930_000, provider: 'offline', stale: false } });
        }""",
        [markup, lang],
    )
    expect(panel_text(page)).to_have_text(markup)
    expect(badge).to_be_hidden()
    expect(page.locator("[data-summary-updated]")).to_have_text(re.compile(r"^Updated 4[2-7] s ago$"))
    expect(page.locator("[data-summary-covers]")).to_have_text("covers 12:00–15:30")
    assert page.locator("[data-summary-panel] img, [data-summary-panel] b").count() == 0
    page.wait_for_timeout(200)
    assert dialogs == [] and not page.errors


def test_catch_me_up_on_a_phone(producer, browser, site_url):
    """On a phone the side column stacks under the stage: the panel fits, the picker is a thumb-sized target."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(site_url + "/events/demo/")
        expect(page.locator('[data-summary-panel][data-state="ready"]')).to_be_visible()
        page.locator("[data-summary-panel]").scroll_into_view_if_needed()
        box = page.get_by_label("Summary language").bounding_box()
        assert box["height"] >= 40 and box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "summary-phone.png")
        assert not errors
    finally:
        context.close()
