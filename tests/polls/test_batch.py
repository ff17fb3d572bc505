"""Votes counted in batches: each ballot gets its own answer, and a burst costs a few database calls."""
import asyncio

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from companion.errors import ServiceError
from polls import batch, services
from polls.models import Vote
from polls.services import Ballot


@pytest.mark.django_db
def test_a_batch_answers_each_ballot_in_order(open_poll, make_user, make_poll, live_event):
    ana, ben = make_user(), make_user()
    options = [o.pk for o in open_poll.options.all()]
    draft = make_poll(status="draft")
    results = services.poll_vote_batch(ballots=[
        Ballot(user=ana, poll_id=open_poll.pk, option_id=options[0], event_id=live_event.pk),
        Ballot(user=ana, poll_id=open_poll.pk, option_id=options[1]),               # the same account again
        Ballot(user=ben, poll_id=open_poll.pk, option_id=draft.options.first().pk),  # a foreign option
        Ballot(user=AnonymousUser(), poll_id=open_poll.pk, option_id=options[0]),
        Ballot(user=ben, poll_id=draft.pk, option_id=draft.options.first().pk),      # not launched
        Ballot(user=ben, poll_id=open_poll.pk, option_id=options[2], event_id=live_event.pk + 1),  # another room
        Ballot(user=ben, poll_id=open_poll.pk, option_id=options[2]),
    ])
    codes = [r.code if isinstance(r, ServiceError) else "ok" for r in results]
    assert codes == ["ok", "already_voted", "invalid_option", "auth_required", "poll_not_found", "poll_not_found", "ok"]
    assert results[1].details["option"] == options[0]
    assert sorted(Vote.objects.filter(poll=open_poll).values_list("pk", flat=True)) == sorted([results[0].pk, results[6].pk])
    assert (results[6].user, results[6].option_id) == (ben, options[2])


@pytest.mark.django_db(transaction=True)
async def test_votes_arriving_together_share_a_database_call(open_poll, make_user):
    users = [await database_sync_to_async(make_user)() for _ in range(30)]
    option = await database_sync_to_async(lambda: open_poll.options.first().pk)()
    batcher = batch.get_batcher()
    votes = await asyncio.gather(*(batcher.submit(Ballot(user=u, poll_id=open_poll.pk, option_id=option)) for u in users))
    assert len({v.pk for v in votes}) == 30
    assert batcher.batches < 30
    with pytest.raises(ServiceError) as excinfo:
        await batcher.submit(Ballot(user=users[0], poll_id=open_poll.pk, option_id=option))
    assert excinfo.value.code == "already_voted"
