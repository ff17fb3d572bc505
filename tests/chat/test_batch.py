"""Comments stored in batches: each post gets its own answer, a burst shares a transaction, a failure loses nothing acknowledged."""
import asyncio

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from chat import batch, services
from chat.models import Comment
from companion.errors import ServiceError
from moderation import services as moderation
from moderation.models import BlockedTerm, ModerationLog


def post(event, author, text="hello", **fields):
    return services.Post(event=event, author=author, draft=services.danmaku_parse({"text": text, "media_ms": 1000, **fields}))


@pytest.mark.django_db
def test_a_batch_answers_each_post_in_order(live_event, make_user, django_capture_on_commit_callbacks, settings):
    settings.DANMAKU_RATE_COUNT = 2
    BlockedTerm.objects.create(pattern="forbidden", action=BlockedTerm.Action.REJECT)
    BlockedTerm.objects.create(pattern="maybe", action=BlockedTerm.Action.HOLD)
    ana, ben, cleo, idle = make_user(), make_user(), make_user(), make_user(is_active=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        results = services.danmaku_post_batch([
            post(live_event, ana, "first"),
            post(live_event, AnonymousUser(), "who am I"),
            post(live_event, ben, "a forbidden word"),
            post(live_event, ana, "second"),
            post(live_event, ana, "third, too fast"),   # the rate is 2 per window
            post(live_event, ben, "maybe not"),
            post(live_event, idle, "deactivated"),
            post(live_event, cleo, "last"),
        ])
    codes = [r.code if isinstance(r, ServiceError) else r.status for r in results]
    assert codes == ["visible", "auth_required", "comment_rejected", "visible", "rate_limited", "held", "forbidden", "visible"]
    stored = list(Comment.objects.order_by("id").values_list("text", "status"))
    assert stored == [
        ("first", "visible"), ("a forbidden word", "rejected"), ("second", "visible"), ("maybe not", "held"), ("last", "visible"),
    ]
    # Each answer is the stored row (ids in arrival order), the rejection names its record.
    assert [results[i].pk for i in (0, 3, 7)] == sorted(results[i].pk for i in (0, 3, 7))
    assert results[2].details["id"] == Comment.objects.get(status="rejected").pk
    assert ModerationLog.objects.count() == 2  # the hold and the rejection
    # One room broadcast per visible comment (plus the moderators' copies), after the commit only.
    published = [c.args[1]["text"] for c in callbacks if getattr(c, "func", None).__name__ == "publish_danmaku"]
    assert published == ["first", "second", "last"]


@pytest.mark.django_db
def test_a_failed_transaction_stores_nothing_and_tells_everyone(live_event, make_user, monkeypatch, django_capture_on_commit_callbacks):
    ana = make_user()
    BlockedTerm.objects.create(pattern="maybe", action=BlockedTerm.Action.HOLD)

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(moderation, "post_screened", broken)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        services.danmaku_post_batch([post(live_event, ana, "fine"), post(live_event, ana, "maybe")])
    assert not Comment.objects.exists() and callbacks == []


@pytest.mark.django_db(transaction=True)
async def test_posts_arriving_together_share_a_database_call(live_event, make_user):
    users = [await database_sync_to_async(make_user)() for _ in range(30)]
    batcher = batch.get_batcher()
    before = batcher.batches
    comments = await asyncio.gather(*(batcher.submit(post(live_event, user, f"c{n}")) for n, user in enumerate(users)))
    assert [c.text for c in comments] == [f"c{n}" for n in range(30)]
    assert len({c.pk for c in comments}) == 30
    assert await database_sync_to_async(Comment.objects.count)() == 30
    assert batcher.batches - before < 30
    with pytest.raises(ServiceError) as excinfo:
        await batcher.submit(post(live_event, AnonymousUser()))
    assert excinfo.value.code == "auth_required"


@pytest.mark.django_db
def test_a_batch_reads_every_authors_sanctions_in_one_query(live_event, make_user):
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from moderation.models import Sanction

    banned, muted, *fine = [make_user() for _ in range(6)]
    Sanction.objects.create(user=banned, kind=Sanction.Kind.BAN)
    Sanction.objects.create(user=muted, kind=Sanction.Kind.TIMEOUT, ends_at=timezone.now() + timedelta(minutes=5))
    Sanction.objects.create(user=fine[0], kind=Sanction.Kind.BAN, lifted_at=timezone.now())  # lifted: no longer counts
    with CaptureQueriesContext(connection) as queries:
        results = services.danmaku_post_batch([post(live_event, user, f"from {n}") for n, user in enumerate([banned, muted, *fine])])
    codes = [r.code if isinstance(r, ServiceError) else r.status for r in results]
    assert codes == ["banned", "timed_out"] + ["visible"] * 4
    assert results[1].details["retry_after"] > 0
    assert sum("moderation_sanction" in q["sql"] for q in queries.captured_queries) == 1


@pytest.mark.django_db
def test_one_posts_unexpected_failure_is_its_own(live_event, make_user, monkeypatch):
    ana = make_user()
    real = moderation.post_screen

    def screen(*, event, text, **kwargs):
        if text == "boom":
            raise RuntimeError("a bug")
        return real(event=event, text=text, **kwargs)

    monkeypatch.setattr(moderation, "post_screen", screen)
    results = services.danmaku_post_batch([post(live_event, ana, "before"), post(live_event, ana, "boom"), post(live_event, ana, "after")])
    assert [r.code if isinstance(r, ServiceError) else r.text for r in results] == ["before", "internal", "after"]
    assert list(Comment.objects.order_by("id").values_list("text", flat=True)) == ["before", "after"]
