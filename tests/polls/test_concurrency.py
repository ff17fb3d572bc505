"""
Votes under concurrency, each thread with its own database connection. On
PostgreSQL (DATABASE_URL, as scripts/test.sh runs the suite) this is the real
race: the unique constraint counts each account once, and the shared lock
makes a close wait for votes in flight.
"""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection, connections, transaction

from accounts.models import User
from companion.errors import ServiceError
from polls import services
from polls.models import Vote

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="threads on the in-memory SQLite test database lock each other out; scripts/test.sh runs this on PostgreSQL",
    ),
]


def accounts(count: int, prefix: str) -> list[User]:
    password = make_password(None)
    User.objects.bulk_create([User(username=f"{prefix}{i}", password=password) for i in range(count)])
    return list(User.objects.filter(username__startswith=prefix).order_by("pk"))


def run_at_once(calls, workers: int) -> list:
    """Run the calls on ``workers`` threads released together; each thread closes its connection."""
    barrier = threading.Barrier(min(workers, len(calls)))

    def run(call):
        try:
            if threading.current_thread().name not in started:
                started.add(threading.current_thread().name)
                barrier.wait(timeout=30)
            try:
                return call()
            except ServiceError as error:
                return error.code
        finally:
            connections.close_all()

    started: set[str] = set()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, calls))


@pytest.fixture
def crowd_size():
    return 300


def test_many_accounts_vote_at_once_twice_each_and_the_tally_is_exact(open_poll, crowd_size):
    users = accounts(crowd_size, "crowd")
    options = [o.pk for o in open_poll.options.all()]
    chosen = {user.pk: options[i % len(options)] for i, user in enumerate(users)}

    def cast(user):
        return lambda: services.poll_vote(user=user, poll_id=open_poll.pk, option_id=chosen[user.pk]).pk

    # Every account sends its vote twice, the copies racing each other.
    results = run_at_once([cast(u) for u in users] + [cast(u) for u in users], workers=32)
    accepted = [r for r in results if isinstance(r, int)]
    assert len(accepted) == crowd_size
    assert Counter(r for r in results if not isinstance(r, int)) == {"already_voted": crowd_size}
    assert Vote.objects.filter(poll=open_poll).count() == crowd_size
    expected = Counter(chosen.values())
    assert services.poll_counts(poll_ids=[open_poll.pk])[open_poll.pk] == dict(expected)
    assert services.poll_results(poll=open_poll)["total"] == crowd_size


def test_a_close_during_a_burst_counts_every_acknowledged_vote_and_nothing_else(open_poll, producer, crowd_size, monkeypatch):
    """
    The close waits for votes in flight: every acknowledged vote is older than
    the close and in the final frame's total; every other vote was refused.
    """
    from chat import broadcast

    frames = []
    monkeypatch.setattr(broadcast, "publish_frame", lambda event_id, key, frame: frames.append(frame))
    insert = services._votes_insert

    def slow_insert(ballots, **kwargs):
        # Hold each vote's transaction open a little after its insert: a close
        # that did not wait for it would count without it.
        with transaction.atomic():
            inserted = insert(ballots, **kwargs)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.02)")
        return inserted

    monkeypatch.setattr(services, "_votes_insert", slow_insert)
    users = accounts(crowd_size, "burst")
    option = open_poll.options.first().pk
    calls = [lambda u=u: services.poll_vote(user=u, poll_id=open_poll.pk, option_id=option).pk for u in users]
    # The close races the votes from the middle of the burst.
    calls.insert(len(calls) // 2, lambda: services.poll_close(poll=open_poll, by=producer).status)
    results = run_at_once(calls, workers=24)
    acked = {r for r in results if isinstance(r, int)}
    refused = [r for r in results if r == "poll_closed"]
    assert "closed" in results and acked and refused
    assert len(acked) + len(refused) == crowd_size
    assert set(Vote.objects.filter(poll=open_poll).values_list("pk", flat=True)) == acked
    closed = services.poll_get(poll_id=open_poll.pk)
    assert not Vote.objects.filter(poll=open_poll, created_at__gt=closed.closed_at).exists()
    # The close's frame, and any tally published after it, carry the final count.
    finals = [f["poll"]["total"] for f in frames if f["poll"]["status"] == "closed"]
    assert finals and set(finals) == {len(acked)}
    assert services.poll_results(poll=closed)["total"] == len(acked)
