"""Send the daily digests now, with a progress bar."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from playbooks.services import notify


class Command(BaseCommand):
    help = (
        "Send the daily digest of the users whose morning it is (the 15-minute job), of "
        "--everyone, or of one --user; a digest is sent once per user and day."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="A username: send this user's digest now.")
        parser.add_argument(
            "--everyone", action="store_true", help="Every active user with an email, now."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(_("No user %(name)s.") % {"name": options["user"]})
            day: dt.date = notify.local_now(user, now).date()
            sent = [user.pk] if notify.digest_send(user=user, day=day, now=now) else []
        else:
            with tqdm(unit="user", disable=options["verbosity"] == 0) as bar:

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                sent = notify.digests_send_due(
                    now=now, everyone=options["everyone"], progress=progress
                )
        self.stdout.write(_("%(n)s digests sent.") % {"n": len(sent)})
