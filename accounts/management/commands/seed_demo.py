"""manage.py seed_demo: demo users for every role and a deterministic demo book of accounts."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from tqdm import tqdm

from accounts import demo
from accounts.models import Account


class Command(BaseCommand):
    help = (
        "Create the demo users (alice, bob: CSM; lead: CS Lead; admin: Admin; vic: Viewer) and "
        "N demo accounts with contacts, subscriptions, timeline, tasks and goals. The same "
        "--seed gives the same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=200, help="accounts to create")
        parser.add_argument("--seed", type=int, default=42, help="random seed")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="only ensure the demo users when any account already exists",
        )
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        n = options["accounts"]
        if n < 0:
            self.stderr.write("--accounts must be 0 or more")
            raise SystemExit(2)
        users = demo.demo_users_ensure()
        if options["if_empty"] and Account.objects.exists():
            self.stdout.write("Accounts already exist: no demo data added (--if-empty).")
        elif n:
            started = time.monotonic()
            with tqdm(
                total=n,
                unit="account",
                desc="Demo accounts",
                file=self.stderr._out,
                disable=options["no_progress"] or options["verbosity"] == 0,
            ) as bar:
                result = demo.demo_accounts_create(
                    accounts=n,
                    seed=options["seed"],
                    today=timezone.localdate(),
                    progress=bar.update,
                )
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {result.accounts} accounts, {result.contacts} contacts, "
                    f"{result.subscriptions} subscriptions, {result.activities} activities, "
                    f"{result.tasks} tasks and {result.goals} goals "
                    f"in {time.monotonic() - started:.1f}s."
                )
            )
        self._print_users(users)

    def _print_users(self, users: list[demo.DemoUserResult]) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo users — log in at {demo.login_url()}")
        self.stdout.write(f"  {'username':<10} {'role':<9} {'password':<18} note")
        for r in users:
            password = r.spec.password if r.password_is_demo else "(changed, not shown)"
            note = "created" if r.created else "already existed"
            self.stdout.write(
                f"  {r.spec.username:<10} {r.spec.role.value:<9} {password:<18} {note}"
            )
