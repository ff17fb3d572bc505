"""
Producers in a real browser against a real server (tests/e2e/conftest.py): the
console launches a prepared poll, guests vote from the room and the bars move
there and on the on-air overlay; a stats push from the console reaches the
viewers' scoreboard and standings; only producers open the console.
"""
import re
import subprocess
import sys
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

PASSWORD = "pw-producer-e2e-1"
CONSOLE = "/events/demo/console/"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def producer_name(server_env, site_url):
    """A staff account in the producers group, in the server's database."""
    _, env = server_env
    name = f"prod{uuid.uuid4().hex[:6]}"
    code = (
        "from django.contrib.auth.models import Group\n"
        "from accounts.models import User\n"
        f"user = User.objects.create_user({name!r}, password={PASSWORD!r}, is_staff=True, display_name='Pat')\n"
        "user.groups.add(Group.objects.get(name='producers'))\n"
    )
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
    )
    return name


@pytest.fixture
def console(browser, site_url, producer_name):
    """The demo event's console, logged in as a producer, its socket connected."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{site_url}/accounts/login/?next={CONSOLE}")
    page.fill("#id_username", producer_name)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Polls", exact=True)).to_be_visible()
    expect(page.locator('[data-conn][data-state="live"]')).to_be_visible()
    yield page
    context.close()


def option(page, root: str, label: str):
    return page.locator(f"{root} .poll-option", has_text=label)


def bar_scale(page, root: str, label: str) -> float:
    """The drawn width of an option's bar, as a fraction of its row (the transform's scaleX)."""
    return option(page, root, label).locator(".poll-fill").evaluate(
        "(el) => new DOMMatrix(getComputedStyle(el).transform).a"
    )


def test_a_launched_poll_is_voted_on_in_the_room_and_its_bars_move_live_and_on_air(console, guest, new_viewer, site_url):
    """Prepared and launched in the console, voted on by two guests: every page follows the tally without a reload."""
    question = unique("Who takes gold?")
    yes, no = unique("Aebersold"), unique("Brunner")

    # Prepare it, keyboard style: the form, two options, queued.
    console.get_by_label("Question").fill(question)
    console.get_by_label("Option 1", exact=True).fill(yes)
    console.get_by_label("Option 2", exact=True).fill(no)
    console.get_by_label("Voting time").fill("300")
    console.get_by_role("button", name="Add to queue").click()
    queued = console.locator("[data-queue] .queue-item", has_text=question)
    expect(queued).to_be_visible()

    overlay = new_viewer("/events/demo/overlay/")
    card = overlay.locator("[data-overlay-poll]")
    expect(card).to_have_attribute("data-visible", "false")
    ana = guest("Ana")
    ben = guest("Ben")
    anonymous = new_viewer()
    expect(anonymous.locator('[data-conn][data-state="live"]')).to_be_visible()

    # On cue.
    queued.get_by_role("button", name=f"Launch “{question}”").click()
    expect(console.locator("[data-onair]")).to_be_visible()
    expect(console.locator("[data-onair-question]")).to_have_text(question)

    # Everyone sees it at once: the room's card with buttons, the overlay's card.
    panel = ana.get_by_role("region", name=question)
    expect(panel).to_be_visible()
    expect(panel.get_by_role("button", name=yes)).to_be_visible()
    expect(ana.locator("[data-poll-countdown]")).to_have_text(re.compile(r"^[45]:\d\d left$"))
    expect(card).to_have_attribute("data-visible", "true")
    expect(overlay.locator("[data-poll-question]")).to_have_text(question)

    # Not signed in: said in words, nothing sent.
    anonymous.get_by_role("button", name=yes).click()
    expect(anonymous.locator("[data-poll-message]")).to_have_text("Join as a guest or log in to vote.")

    # Ana votes: her bars replace the buttons, her choice marked.
    panel.get_by_role("button", name=yes).click()
    expect(ana.locator("[data-poll-message]")).to_have_text("Thanks, your vote is in.")
    expect(option(ana, "[data-poll-panel]", yes)).to_have_class(re.compile(r"\bis-mine\b"))
    expect(option(ana, "[data-poll-panel]", yes).locator(".poll-share")).to_have_text("100%")
    expect(ana.locator("[data-poll-total]")).to_have_text("1 vote")
    expect(option(overlay, "[data-overlay-poll]", yes).locator(".poll-share")).to_have_text("100%")

    # Ben votes the other way: Ana's bars and the overlay's move without a reload.
    ben.get_by_role("button", name=no).click()
    expect(ben.locator("[data-poll-total]")).to_have_text("2 votes")
    expect(option(ana, "[data-poll-panel]", yes).locator(".poll-share")).to_have_text("50%")
    expect(option(ana, "[data-poll-panel]", no).locator(".poll-share")).to_have_text("50%")
    expect(ana.locator("[data-poll-total]")).to_have_text("2 votes")
    expect(option(overlay, "[data-overlay-poll]", no).locator(".poll-share")).to_have_text("50%")
    expect(overlay.locator("[data-poll-total]")).to_have_text("2 votes")
    expect(console.locator("[data-onair-total]")).to_have_text("2 votes")
    ana.wait_for_timeout(1000)  # the bar's transition has run
    assert bar_scale(ana, "[data-poll-panel]", yes) == pytest.approx(0.5, abs=0.02)
    assert bar_scale(overlay, "[data-overlay-poll]", no) == pytest.approx(0.5, abs=0.02)

    # Once only: a second vote is refused, in words.
    ana.evaluate("(id) => companionPoll.vote(id)", int(option(ana, "[data-poll-panel]", no).get_attribute("data-option-id")))
    expect(ana.locator("[data-poll-message]")).to_have_text("You have already voted in this poll.")

    # Closed early, after a confirmation: the final result everywhere.
    console.get_by_role("button", name="Close now").click()
    dialog = console.get_by_role("dialog", name="Close the poll now?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close poll").click()
    expect(console.locator("[data-onair-empty]")).to_be_visible()
    expect(ana.locator("[data-poll-state]")).to_have_text("Final result")
    expect(overlay.locator("[data-poll-state]")).to_have_text("Final result")
    past = console.locator("[data-past] li", has_text=question)
    expect(past).to_contain_text("2 votes")
    csv = past.get_by_role("link", name="Results CSV")
    response = console.request.get(site_url + csv.get_attribute("href"))
    assert response.status == 200 and question in response.text() and yes in response.text()
    assert not (console.errors or ana.errors or ben.errors or overlay.errors or anonymous.errors)


def test_stats_pushed_from_the_console_show_on_the_viewers_scoreboard_and_standings(console, new_viewer):
    """Structured forms push typed stats; the API's field errors land next to their fields; viewers update live."""
    viewer = new_viewer()
    expect(viewer.locator('[data-conn][data-state="live"]')).to_be_visible()
    home, away = unique("Italy"), unique("France")

    console.get_by_role("tab", name="Scoreboard").click()
    sides = console.locator("[data-sides] .edit-row")
    while sides.count():
        sides.first.get_by_role("button", name=re.compile("^Remove row")).click()
    console.get_by_role("button", name="Add a side").click()
    console.get_by_label("Side name, row 1").fill(home)
    console.get_by_label("Score, row 1").fill("2")
    console.get_by_role("button", name="Add a side").click()
    console.get_by_label("Side name, row 2").fill(away)
    console.get_by_label("Score, row 2").fill("1")
    console.get_by_label("Period", exact=True).fill("2nd half")
    console.get_by_label("Clock", exact=True).fill("67:12")
    console.get_by_role("button", name="Push scoreboard").click()
    expect(console.locator('[data-stats-form="scoreboard"] [data-form-status]')).to_contain_text("Pushed")

    board = viewer.get_by_role("region", name="Live stats")
    expect(board).to_be_visible()
    expect(board.locator(".score-side", has_text=home).locator(".score-value")).to_have_text("2")
    expect(board.locator(".score-side", has_text=away).locator(".score-value")).to_have_text("1")
    expect(board.locator("[data-score-clock]")).to_have_text("67:12")

    # Standings: a bad rank and a missing name come back as typed errors, next to the fields.
    console.get_by_role("tab", name="Standings").click()
    standings = console.locator('[data-stats-form="standings"]')
    rows = console.locator("[data-standings-body] .edit-row")
    while rows.count():
        rows.first.get_by_role("button", name=re.compile("^Remove row")).click()
    console.get_by_role("button", name="Add a row").click()
    standings.get_by_label("Rank, row 1").fill("0")
    console.get_by_role("button", name="Push standings").click()
    rank = standings.get_by_label("Rank, row 1")
    expect(rank).to_have_attribute("aria-invalid", "true")
    expect(console.locator("#" + rank.get_attribute("aria-describedby").split()[-1])).to_contain_text("between 1 and")
    expect(standings.get_by_label("Name, row 1")).to_have_attribute("aria-invalid", "true")
    expect(console.locator('[data-stats-form="standings"] [data-form-status]')).to_have_text("2 problems, marked below. Nothing was pushed.")

    rank.fill("1")
    standings.get_by_label("Name, row 1").fill("L. Brunner")
    standings.get_by_label("Team, row 1").fill("AUT")
    standings.get_by_label("Result, row 1").fill("1:51.84")
    console.get_by_role("button", name="Add a row").click()
    standings.get_by_label("Rank, row 2").fill("2")
    standings.get_by_label("Name, row 2").fill("F. Aebersold")
    standings.get_by_label("Team, row 2").fill("SUI")
    console.get_by_role("button", name="Push standings").click()
    table = viewer.locator("[data-standings-panel]")
    expect(table.locator("tbody tr").first).to_contain_text("L. Brunner")

    # Aebersold overtakes: up one place on the viewer's table, Brunner down one.
    standings.get_by_label("Rank, row 1").fill("2")
    standings.get_by_label("Result, row 2").fill("1:51.62")
    standings.get_by_label("Rank, row 2").fill("1")
    console.get_by_role("button", name="Sort by rank").click()
    expect(standings.get_by_label("Name, row 1")).to_have_value("F. Aebersold")
    console.get_by_role("button", name="Push standings").click()
    first = table.locator("tbody tr").first
    expect(first).to_contain_text("F. Aebersold")
    expect(first.locator(".st-change")).to_contain_text("up 1 place")
    expect(table.locator("tbody tr").nth(1).locator(".st-change")).to_contain_text("down 1 place")
    # The scoreboard stayed: a section left out is kept.
    expect(board.locator(".score-side", has_text=home)).to_be_visible()

    # A key moment pinned a minute in reaches the viewer's timeline; a click there watches from it.
    title = unique("Course record")
    console.get_by_label(re.compile("^Title")).fill(title)
    console.get_by_label(re.compile("^Broadcast time")).fill("1:00")
    console.get_by_role("button", name="Pin moment").click()
    expect(console.locator("[data-moment-form] [data-form-status]")).to_have_text(f"Pinned “{title}” at 1:00.")
    moment = viewer.get_by_role("region", name=re.compile("^Key moments")).locator(".moment", has_text=title)
    expect(moment).to_be_visible()
    moment.get_by_role("button").click()
    expect(viewer.get_by_role("button", name="Back to live")).to_be_visible()
    assert 60 <= viewer.evaluate("companion.media.currentTime") < 70

    # The replay marks it over the density graph; the mark jumps there.
    replay = new_viewer("/events/demo/replay/")
    mark = replay.get_by_role("button", name=re.compile(f"Go to 1 minute: .*{title}"))
    expect(mark).to_be_visible()
    mark.click()
    expect(replay.locator("[data-current]")).to_have_text("1:00")
    assert not (console.errors or viewer.errors or replay.errors)


def test_only_producers_open_the_console(guest, new_viewer, site_url):
    """A signed-in viewer gets 403; an anonymous visitor is sent to log in."""
    viewer = guest("Nosy")
    response = viewer.goto(site_url + CONSOLE)
    assert response.status == 403
    anonymous = new_viewer("/")
    anonymous.goto(site_url + CONSOLE)
    expect(anonymous).to_have_url(re.compile(r"/accounts/login/\?next="))
