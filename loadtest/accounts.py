"""
The load tool's Django side, run as a subprocess with the server's environment
(DJANGO_SETTINGS_MODULE, DATABASE_URL), so it writes to the server's database:

    python -m loadtest.accounts prepare --slug demo --count 200 [--voters 50] [--migrate] [--seed]
        bulk-creates accounts ``<prefix>0..N-1`` with DRF API tokens (idempotent), the
        voters' accounts ``<prefix>voter-0..V-1`` the same way (apart from the posters,
        so that a poster's comments and a voter's vote never share an account), and
        one staff account ``<prefix>staff``, also a producer, whose token reads
        /api/metrics/, pushes stats (--stats-rate) and launches the voters' poll; prints
        JSON: {"event": {...}, "tokens": [...], "voter_tokens": [...], "staff_token": "..."}
    python -m loadtest.accounts verify --ids FILE
        reads a JSON list of acknowledged comment ids and prints JSON with how many
        of them are not in storage ("missing": must be 0)
"""
import argparse
import json
import os
import sys
from datetime import timedelta


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "companion.settings")
    import django

    django.setup()


def ensure_event(slug: str, seed: bool) -> dict:
    from django.core.management import call_command
    from django.utils import timezone

    from events.models import Event

    event = Event.objects.filter(slug=slug).first()
    if event is None and seed:
        if slug == "demo":
            call_command("seed_demo", comments=50, stdout=sys.stderr)
        else:
            now = timezone.now()
            Event.objects.create(
                slug=slug, title=f"Load test {slug}", status=Event.Status.LIVE,
                scheduled_start=now - timedelta(minutes=10), started_at=now - timedelta(minutes=10),
            )
        event = Event.objects.get(slug=slug)
    if event is None:
        raise SystemExit(f"no event with slug {slug!r} (run `manage.py seed_demo`, or pass --seed)")
    if seed and event.status != Event.Status.LIVE:
        event.status, event.started_at, event.ended_at = Event.Status.LIVE, timezone.now() - timedelta(minutes=10), None
        event.save()
    return {
        "id": event.pk,
        "slug": event.slug,
        "status": event.status,
        "started_at_ms": int(event.started_at.timestamp() * 1000) if event.started_at else None,
    }


def ensure_accounts(prefix: str, count: int) -> list[str]:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    names = [f"{prefix}{i}" for i in range(count)]
    password = make_password(None)  # unusable: these accounts only have tokens
    with transaction.atomic():
        User.objects.bulk_create(
            [User(username=name, display_name=f"Load {i}", is_guest=True, password=password)
             for i, name in enumerate(names)],
            ignore_conflicts=True, batch_size=500,
        )
        users = {u.username: u for u in User.objects.filter(username__in=names)}
        have = {t.user_id: t.key for t in Token.objects.filter(user__in=users.values())}
        new = [Token(user=u, key=Token.generate_key()) for u in users.values() if u.pk not in have]
        Token.objects.bulk_create(new, batch_size=500)
        have.update({t.user_id: t.key for t in new})
    return [have[users[name].pk] for name in names]


def ensure_staff(prefix: str) -> str:
    """
    The token of the tool's staff account: no password; in the ``producers``
    group, so it can read the metrics and push stats (nothing in admin beyond
    the producers' permissions).
    """
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from events.roles import PRODUCERS

    # An existing account of that name is used as it is, never promoted (not staff:
    # the fetch says 403, and so do the stats pushes).
    user, _ = User.objects.get_or_create(
        username=f"{prefix}staff",
        defaults={"display_name": "Load metrics", "is_staff": True, "password": make_password(None)},
    )
    if user.is_staff:
        # The group exists after migrate (a data migration and post_migrate create it).
        producers = Group.objects.filter(name=PRODUCERS).first()
        if producers is not None:
            user.groups.add(producers)
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def verify(ids: list[int]) -> dict:
    from chat.models import Comment

    wanted = sorted(set(ids))
    found: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        found.update(Comment.objects.filter(id__in=chunk).values_list("id", "status"))
    missing = [i for i in wanted if i not in found]
    by_status: dict[str, int] = {}
    for status in found.values():
        by_status[status] = by_status.get(status, 0) + 1
    return {"checked": len(wanted), "missing": len(missing), "missing_sample": missing[:20], "by_status": by_status}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m loadtest.accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare")
    prep.add_argument("--slug", default="demo")
    prep.add_argument("--count", type=int, default=100)
    prep.add_argument("--voters", type=int, default=0, help="voter accounts <prefix>voter-0..N-1")
    prep.add_argument("--prefix", default="loadtest-")
    prep.add_argument("--migrate", action="store_true", help="run migrations first")
    prep.add_argument("--seed", action="store_true", help="create the event (seed_demo for 'demo') if missing")
    ver = sub.add_parser("verify")
    ver.add_argument("--ids", required=True, help="JSON file with a list of comment ids")
    args = parser.parse_args(argv)

    setup_django()
    if args.command == "prepare":
        if args.migrate:
            from django.core.management import call_command

            call_command("migrate", interactive=False, verbosity=0)
        event = ensure_event(args.slug, args.seed)
        tokens = ensure_accounts(args.prefix, args.count)
        voter_tokens = ensure_accounts(f"{args.prefix}voter-", args.voters) if args.voters > 0 else []
        json.dump({"event": event, "tokens": tokens, "voter_tokens": voter_tokens,
                   "staff_token": ensure_staff(args.prefix)}, sys.stdout)
    else:
        with open(args.ids) as fh:
            ids = [int(i) for i in json.load(fh)]
        json.dump(verify(ids), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
