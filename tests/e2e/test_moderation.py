"""
Moderation in a real browser against a real server (tests/e2e/conftest.py):
a moderator hides a comment in Django admin, or with one click on the live
moderation page, and it disappears from a viewer's open page.
"""
import re
import subprocess
import sys
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

LAYER = "[data-danmaku-layer]"
PASSWORD = "pw-moderator-e2e-1"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def send(page, text: str) -> None:
    page.fill("#composer-text", text)
    page.keyboard.press("Enter")


def on_screen(page, text: str):
    """The comment flying on the stage (visible) or listed in the log."""
    return page.locator(f"{LAYER} .dm:visible, [data-log] .log-item", has_text=text)


@pytest.fixture(scope="module")
def moderator_name(server_env, site_url):
    """A staff account in the moderators group, in the server's database."""
    tmp, env = server_env
    name = f"mod{uuid.uuid4().hex[:6]}"
    code = (
        "from django.contrib.auth.models import Group\n"
        "from accounts.models import User\n"
        f"user = User.objects.create_user({name!r}, password={PASSWORD!r}, is_staff=True, display_name='Mo')\n"
        "user.groups.add(Group.objects.get(name='moderators'))\n"
    )
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
    )
    return name


@pytest.fixture
def moderator_page(browser, site_url, moderator_name):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{site_url}/admin/login/?next=/admin/")
    page.fill("#id_username", moderator_name)
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    yield page
    context.close()


def test_a_comment_hidden_in_admin_disappears_from_an_open_viewer_page(guest, new_viewer, moderator_page, site_url):
    author = guest("Ana")
    watcher = new_viewer()
    expect(watcher.locator('[data-conn][data-state="live"]')).to_be_visible()
    text = unique("spoiler: the butler did it")
    send(author, text)
    expect(on_screen(watcher, text).first).to_be_visible()

    admin = moderator_page
    admin.goto(f"{site_url}/admin/chat/comment/?q={text.split()[-1]}")
    rows = admin.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ana")
    rows.first.locator("input[name=_selected_action]").check()
    admin.select_option("select[name=action]", "hide")
    admin.locator("button[name=index]").click()
    admin.fill("#id_reason", "spoiler")
    admin.locator("input[type=submit][value=Hide]").click()
    expect(admin.locator(".messagelist")).to_contain_text("Hid 1 comment.")
    hidden_at = time.monotonic()

    # Gone from the viewer's stage and log, without a reload, within about a second.
    expect(on_screen(watcher, text)).to_have_count(0, timeout=3000)
    assert time.monotonic() - hidden_at < 1.5
    expect(on_screen(author, text)).to_have_count(0)
    # And from the replay: a fresh page does not bring it back.
    late = new_viewer()
    expect(late.locator('[data-conn][data-state="live"]')).to_be_visible()
    late.wait_for_timeout(500)
    expect(on_screen(late, text)).to_have_count(0)
    assert not watcher.errors and not admin.errors


def test_the_live_moderation_page_streams_comments_and_hides_with_one_click(guest, new_viewer, moderator_page, site_url):
    admin = moderator_page
    admin.goto(f"{site_url}/admin/moderation/liveroom/demo/")
    expect(admin.locator('[data-conn][data-state="open"]')).to_be_visible()

    author = guest("Ben")
    watcher = new_viewer()
    expect(watcher.locator('[data-conn][data-state="live"]')).to_be_visible()
    text = unique("<b>rude</b> words")
    send(author, text)
    row = admin.locator("[data-rows] tr", has_text=text)
    expect(row).to_have_count(1)
    expect(row.locator(".mod-author")).to_contain_text("Ben")
    assert admin.locator("[data-rows] b").count() == 0  # text, not markup
    expect(on_screen(watcher, text).first).to_be_visible()

    row.get_by_role("button", name="Hide").click()
    clicked_at = time.monotonic()
    expect(on_screen(watcher, text)).to_have_count(0, timeout=3000)
    assert time.monotonic() - clicked_at < 1.5
    expect(row).to_have_attribute("data-status", "hidden")
    expect(admin.locator("[data-feedback]")).to_contain_text("done")

    # One click more times the author out; their next comment is refused with the end time.
    admin.locator("[data-duration]").select_option("5")
    row.get_by_role("button", name="Time out").click()
    expect(admin.locator("[data-feedback]")).to_contain_text("Time out Ben for 5 minutes: done")
    send(author, unique("am I muted?"))
    expect(author.locator("[data-composer-status]")).to_contain_text(re.compile(r"timed (you )?out", re.I))
    assert not admin.errors and not watcher.errors


def test_a_timed_out_viewer_sees_why_the_box_is_shut_and_it_opens_when_the_time_out_ends(guest, server_env):
    """hello says the account is timed out: the composer is shut with the reason, and opens again on time."""
    tmp, env = server_env
    name = unique("Muted")
    page = guest(name)
    code = (
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from accounts.models import User\n"
        "from moderation.models import Sanction\n"
        f"user = User.objects.get(display_name={name!r})\n"
        "Sanction.objects.create(user=user, kind='timeout', ends_at=timezone.now() + timedelta(seconds=6))\n"
    )
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", code], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    page.reload()
    expect(page.locator("[data-composer-status]")).to_contain_text("A moderator timed you out until")
    expect(page.locator("#composer-text")).to_be_disabled()
    expect(page.locator("#composer-text")).to_be_enabled(timeout=12_000)
    send(page, unique("back again"))
    expect(page.locator("[data-composer-status]")).to_have_text("Sent.")
    assert not page.errors
