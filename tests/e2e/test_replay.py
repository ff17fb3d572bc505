"""The replay in a real browser: seeded comments at their moments, density graph, seeking."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# seed_demo's comments (events/management/commands/seed_demo.py).
SEEDED = {
    "What a start!", "GO GO GO", "unbelievable", "that line though", "+1", "😱", "888888",
    "clean run", "so close!", "new record?", "hello from Milano", "who else is watching live?",
    "the crowd is loud today", "replay please", "legendary", "wow", "perfect timing", "🔥🔥🔥",
}


def clock_seconds(page) -> int:
    minutes, seconds = page.locator("[data-current]").inner_text().split(":")[-2:]
    return int(minutes) * 60 + int(seconds)


def test_replay_shows_density_and_seeded_comments_and_seeks(new_viewer):
    """The graph is drawn from the density API, clicking it seeks, and playing shows seeded comments."""
    page = new_viewer("/events/demo/replay/")
    graph = page.locator("[data-density]")
    expect(graph).to_have_attribute("aria-label", re.compile(r"\d+ comments"))
    expect(page.locator("[data-peaks] button").first).to_be_visible()
    painted = page.evaluate(
        """() => {
            const c = document.querySelector('[data-density]');
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
            return n;
        }"""
    )
    assert painted > 500
    assert clock_seconds(page) == 0

    # Click the graph 45% along: the seed's second peak.
    box = graph.bounding_box()
    graph.click(position={"x": box["width"] * 0.45, "y": box["height"] / 2})
    duration = page.evaluate("companion.media.duration")
    expect(page.locator("[data-current]")).not_to_have_text("0:00")
    assert abs(clock_seconds(page) - 0.45 * duration) < 15
    seek_value = int(page.locator("[data-seek]").input_value())
    assert abs(seek_value / 1000 - 0.45 * duration) < 15

    page.get_by_role("button", name="Play").click()
    comments = page.locator("[data-danmaku-layer] .dm")
    expect(comments.first).to_be_visible(timeout=8000)
    texts = {t.strip() for t in comments.all_text_contents()}
    assert texts & SEEDED
    expect(page.locator("[data-log] .log-item").first).to_be_visible()

    # The keyboard seeks too: a minute forward from the slider.
    before = clock_seconds(page)
    page.locator("[data-seek]").focus()
    page.keyboard.press("PageUp")
    assert clock_seconds(page) - before >= 55
    assert not page.errors
