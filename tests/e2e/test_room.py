"""The live room in a real browser: guests, flying comments, safety, sync, reconnect."""
import json
import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

LAYER = "[data-danmaku-layer]"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def send(page, text: str) -> None:
    page.fill("#composer-text", text)
    page.keyboard.press("Enter")


def flying(page, text: str):
    return page.locator(f"{LAYER} .dm", has_text=text)


def logged(page, text: str):
    return page.locator("[data-log] .log-item", has_text=text)


def test_two_guests_see_each_others_comments_fly(guest):
    """Two guests join through the form; each one's comment flies on the other's stage, once."""
    ana = guest("Ana")
    ben = guest("Ben")
    expect(ana.locator("header .who")).to_have_text("Ana")

    hello = unique("hello from Ana")
    send(ana, hello)
    expect(flying(ben, hello)).to_have_count(1)
    expect(logged(ben, hello)).to_contain_text("Ana")
    # The author sees it at once on ack, outlined, and not again when the broadcast arrives.
    mine = flying(ana, hello)
    expect(mine).to_have_count(1)
    expect(mine).to_have_class(re.compile(r"\bdm-mine\b"))
    expect(ana.locator("#composer-text")).to_have_value("")

    reply = unique("hi Ana, Ben here")
    send(ben, reply)
    expect(flying(ana, reply)).to_have_count(1)
    ana.wait_for_timeout(500)
    expect(flying(ben, reply)).to_have_count(1)
    expect(logged(ben, reply)).to_have_count(1)

    # The comment really moves across the stage (right to left).
    start = ana.evaluate("(t) => [...document.querySelectorAll('.dm')].find(n => n.textContent.includes(t)).getBoundingClientRect().x", reply)
    ana.wait_for_timeout(400)
    later = ana.evaluate("(t) => [...document.querySelectorAll('.dm')].find(n => n.textContent.includes(t)).getBoundingClientRect().x", reply)
    assert later < start
    assert not ana.errors and not ben.errors


def test_html_in_a_comment_is_shown_as_text(guest, new_viewer):
    """Markup in a comment is literal text on every screen and in the log: no element, no script."""
    author = guest("Mallory")
    watcher = new_viewer()
    expect(watcher.locator('[data-conn][data-state="live"]')).to_be_visible()
    dialogs = []
    for page in (author, watcher):
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    payload = f"<img src=x onerror=alert(1)><b>bold</b> {uuid.uuid4().hex[:4]}"
    send(author, payload)
    for page in (author, watcher):
        comment = flying(page, payload)
        expect(comment).to_have_count(1)
        assert payload in comment.text_content()
        expect(logged(page, payload)).to_have_count(1)
        assert page.locator(f"{LAYER} img, {LAYER} b, [data-log] img, [data-log] b").count() == 0
    watcher.wait_for_timeout(300)
    assert dialogs == []


def test_a_viewer_behind_live_sees_comments_at_their_moment(guest):
    """Paused behind live, a new comment waits for the viewer's playhead, then flies."""
    ahead = guest("Live Viewer")
    behind = guest("Paused Viewer")
    behind.get_by_role("button", name="Pause").click()
    expect(behind.locator("[data-lag]")).to_contain_text("behind live")
    expect(behind.get_by_role("button", name="Back to live")).to_be_visible()
    behind.wait_for_timeout(1500)

    text = unique("spoiler at the finish")
    send(ahead, text)
    expect(flying(ahead, text)).to_have_count(1)
    behind.wait_for_timeout(700)
    assert flying(behind, text).count() == 0
    assert logged(behind, text).count() == 0

    behind.get_by_role("button", name="Play").click()
    behind.wait_for_timeout(500)
    assert flying(behind, text).count() == 0  # the playhead is still about 2 s behind it
    expect(flying(behind, text)).to_have_count(1, timeout=5000)
    expect(logged(behind, text)).to_have_count(1)

    behind.get_by_role("button", name="Pause").click()
    behind.get_by_role("button", name="Back to live").click()
    expect(behind.locator("[data-lag]")).to_have_text("At the live edge")
    expect(behind.get_by_role("button", name="Pause")).to_be_visible()
    expect(behind.get_by_role("button", name="Back to live")).to_be_hidden()


def test_reconnect_catches_up_with_since(guest):
    """After a dropped socket the indicator says so, and the reconnect asks ?since= and gets what was missed."""
    viewer = guest("Flaky Wifi")
    poster = guest("Steady")
    first = unique("before the drop")
    send(poster, first)
    expect(flying(viewer, first)).to_have_count(1)

    urls = []
    viewer.on("websocket", lambda ws: urls.append(ws.url))
    # Drop the connection and hold the retry until the other viewer has posted.
    viewer.evaluate("""() => {
        const s = companion.socket;
        s.realOpen = s.open;
        s.open = () => {};
        s.ws.close(4000);
    }""")
    expect(viewer.locator("[data-conn]")).to_have_attribute("data-state", "reconnecting")
    missed = unique("posted while you were away")
    send(poster, missed)
    expect(flying(poster, missed)).to_have_count(1)
    viewer.wait_for_timeout(300)
    assert flying(viewer, missed).count() == 0

    viewer.evaluate("() => { const s = companion.socket; s.open = s.realOpen; s.open(); }")
    expect(viewer.locator("[data-conn]")).to_have_attribute("data-state", "live")
    expect(flying(viewer, missed)).to_have_count(1)
    assert urls and re.search(r"[?&]since=\d+", urls[-1])


def test_duplicates_merge_retractions_hide_and_unknown_frames_are_ignored(guest, new_viewer):
    """The same words from many viewers show once with a live ×N; a retracted comment leaves the screen."""
    a = guest("Echo A")
    b = guest("Echo B")
    c = guest("Echo C")
    watcher = new_viewer()
    expect(watcher.locator('[data-conn][data-state="live"]')).to_be_visible()
    cheer = unique("WHAT A RUN")
    send(a, cheer)
    expect(flying(watcher, cheer)).to_have_count(1)
    send(b, cheer.lower() + "!!")
    expect(flying(watcher, cheer).locator(".dm-count")).to_have_text("×2")
    send(c, cheer)
    expect(flying(watcher, cheer).locator(".dm-count")).to_have_text("×3")
    expect(logged(watcher, cheer)).to_have_count(1)
    expect(logged(watcher, cheer).locator(".log-count")).to_have_text("×3")
    # An author's own copy stays separate and outlined; the others' copies merge.
    expect(c.locator(f"{LAYER} .dm.dm-mine", has_text=cheer)).to_have_count(1)
    expect(c.locator(f"{LAYER} .dm:not(.dm-mine)", has_text=cheer).locator(".dm-count")).to_have_text("×2")

    gone = unique("a comment moderators hide")
    send(a, gone)
    expect(flying(b, gone)).to_have_count(1)
    comment_id = int(flying(b, gone).get_attribute("data-id"))
    b.evaluate(
        """(id) => {
            const fire = (frame) => companion.socket.dispatchEvent(new CustomEvent('frame', { detail: frame }));
            fire({ type: 'some.future.frame', payload: 1 });
            fire({ type: 'danmaku.retract', ids: [id] });
        }""",
        comment_id,
    )
    expect(flying(b, gone)).to_be_hidden()
    expect(logged(b, gone)).to_have_count(0)
    assert not b.errors


def test_the_next_comment_typed_while_one_is_in_flight_is_kept(guest):
    """An ack empties the box only if it still holds what was sent; newer typing survives it."""
    page = guest("Quick")
    held = []

    def hold_acks(ws):
        server = ws.connect_to_server()

        def from_server(message):
            if isinstance(message, str) and json.loads(message).get("type") == "ack" and not held:
                held.append(message)
            else:
                ws.send(message)

        server.on_message(from_server)
        page.release_ack = lambda: ws.send(held[0])

    page.route_web_socket(re.compile(r"/ws/events/"), hold_acks)
    page.reload()
    page.wait_for_selector('[data-conn][data-state="live"]')

    first = unique("first thought")
    second = unique("second thought")
    send(page, first)
    expect(page.locator("[data-composer-status]")).to_have_text("Sending…")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the server never acknowledged the first comment"
    page.fill("#composer-text", second)
    page.release_ack()
    expect(flying(page, first)).to_have_count(1)
    expect(page.locator("[data-composer-status]")).to_have_text("Sent.")
    expect(page.locator("#composer-text")).to_have_value(second)

    page.keyboard.press("Enter")
    expect(flying(page, second)).to_have_count(1)
    expect(page.locator("#composer-text")).to_have_value("")


def test_server_errors_are_shown_in_words_next_to_the_box(guest):
    """A comment the server refuses (only invisible characters) gets its reason in plain words."""
    page = guest("Typo")
    page.fill("#composer-text", "\u200b\u200b")
    page.keyboard.press("Enter")
    expect(page.locator("[data-composer-status]")).to_have_text("Write something first.")
    page.fill("#composer-text", "x" * 101)
    expect(page.locator("[data-composer-count]")).to_have_text("101/100")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()


def test_settings_persist_and_blocked_words_are_not_shown(guest):
    """Blocked words and the danmaku switch are kept across reloads; blocked comments never show."""
    page = guest("Careful")
    page.locator("summary", has_text="Danmaku settings").click()
    block = page.get_by_label("Hide comments containing")
    block.fill("Spoiler")
    expect(block).to_have_value("Spoiler")
    block.press("Enter")  # the keyboard path submits the same form as the Block button
    expect(page.get_by_role("button", name="Stop hiding “spoiler”")).to_be_visible()

    hidden = unique("big SPOILER: he wins")
    shown = unique("fine comment")
    send(page, hidden)
    page.wait_for_timeout(300)
    send(page, shown)
    # One's own comments always show; another viewer's blocked ones do not.
    other = guest("Talker")
    leak = unique("another spoiler here")
    ok = unique("nothing to hide")
    send(other, leak)
    send(other, ok)
    expect(flying(page, ok)).to_have_count(1)
    assert flying(page, leak).filter(visible=True).count() == 0
    assert logged(page, leak).filter(visible=True).count() == 0

    page.get_by_label("Show flying comments").uncheck()
    page.reload()
    page.wait_for_selector('[data-conn][data-state="live"]')
    page.locator("summary", has_text="Danmaku settings").click()
    expect(page.get_by_label("Show flying comments")).not_to_be_checked()
    expect(page.get_by_role("button", name="Stop hiding “spoiler”")).to_be_visible()
    expect(page.locator(LAYER)).to_be_hidden()
