"""Overdue referrals escalate: when a referral still waits for its first answer after its deadline, its referrer
and the receiving organisation's intake lead are told once — in Kinfold and by email — in words that name no
family, person or need. The daily job (django-tasks, run by ``kinfold db_worker``) is safe to run twice and at
once, keeps itself scheduled, and a mail server that is down loses nothing.

The emails go through a real SMTP server (aiosmtpd on 127.0.0.1) and the tests commit (a transactional
database), because a notice is emailed once the transaction that made it commits.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kinfold import clock
from kinfold.audit.models import AuditEvent
from kinfold.audit.services import verify_chain
from kinfold.directory.models import Need
from kinfold.families.models import Family
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role
from kinfold.referrals.deadlines import response_due
from kinfold.referrals.models import Referral, ReferralNotice, ReferralStatus
from kinfold.referrals.notify import intake_leads, mark_read, notify, unread_notices
from kinfold.referrals.tasks import (
    ensure_daily_scheduled,
    escalate_overdue,
    escalate_overdue_referrals,
    next_run_at,
)
from tests.factories import make_family, staff
from tests.support import free_port, use_smtp

NEW_YORK = ZoneInfo("America/New_York")
SITE = "https://kinfold.example.org"
SUBJECT = "Kinfold: a referral is waiting for an answer"
# Sent on Monday 2 March 2026 at 10:00 in New York: due Wednesday 4 March at 17:00.
SENT_AT = datetime(2026, 3, 2, 10, tzinfo=NEW_YORK)
# What an email must never say: the family, the person, the need.
PRIVATE = ("Maria", "Lopez", "housing", "Housing", Need.HOUSING.label)


@pytest.fixture(autouse=True)
def _region(settings):
    settings.TIME_ZONE = "America/New_York"
    settings.KINFOLD_SITE_URL = SITE


@dataclass
class World:
    family: Family
    referrer: Membership  # Ana, care coordinator at Bridges: she sent the referrals
    harbor: Organization  # Harbor Community Services: the receiving organisation
    lead: Membership  # its programme lead
    intake: Membership  # a care coordinator there (a role marked for intake)
    desk: Membership  # its front desk (not intake)

    def referral(self, *, status: str = ReferralStatus.REQUESTED, sent_at: datetime = SENT_AT, **fields: Any):
        return Referral.objects.create(
            family=self.family,
            need=Need.HOUSING,
            kind="social_needs",
            sensitivity="social_needs",
            purpose="care_coordination",
            receiving_org=self.harbor,
            created_by_org=self.referrer.organization,
            created_by=self.referrer.user,
            status=status,
            sent_at=sent_at,
            due_at=fields.pop("due_at", response_due(sent_at, Need.HOUSING)),
            **fields,
        )


@pytest.fixture
def world(committing_db: None, community_org: Organization) -> World:
    harbor = Organization.objects.create(name="Harbor Community Services", type=OrganizationType.COMMUNITY)
    referrer = staff(
        community_org,
        Role.CARE_COORDINATOR,
        user__first_name="Ana",
        user__last_name="Rivera",
        user__email="ana@bridges.example.org",
    )
    return World(
        family=make_family(referrer, given_name="Maria", family_name="Lopez"),
        referrer=referrer,
        harbor=harbor,
        lead=staff(harbor, Role.PROGRAMME_LEAD, user__email="lead@harbor.example.org"),
        intake=staff(harbor, Role.CARE_COORDINATOR, user__email="intake@harbor.example.org"),
        desk=staff(harbor, Role.FRONT_DESK, user__email="desk@harbor.example.org"),
    )


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def recipients(smtp_server: Any) -> list[list[str]]:
    return sorted(to for to, _ in smtp_server.messages)


# --- the escalation ------------------------------------------------------------------------------------------


def test_an_overdue_referral_is_escalated_once_to_the_referrer_and_the_intake_lead(world, smtp_server):
    referral = world.referral()
    assert escalate_overdue() == 1

    assert recipients(smtp_server) == [["ana@bridges.example.org"], ["lead@harbor.example.org"]]
    for _, message in smtp_server.messages:
        assert message["Subject"] == SUBJECT
        body = body_of(message)
        assert "A referral sent to Harbor Community Services on 2 March 2026 is waiting for an answer." in body
        assert "The answer was due by 4 March 2026, 5 p.m." in body
        assert f"{SITE}/referrals/{referral.pk}/" in body
        for private in PRIVATE:
            assert private not in body and private not in message["Subject"]
    # Told in Kinfold too: one notice each, emailed.
    for member in (world.referrer, world.lead):
        [notice] = unread_notices(member.user)
        assert notice.referral_id == referral.pk and notice.subject == SUBJECT
        assert notice.key == f"escalation:{referral.pk}:{member.user.pk}"
        assert notice.emailed_at is not None
    # Neither the other intake staff (a programme lead is there) nor the front desk.
    assert not unread_notices(world.intake.user).exists() and not unread_notices(world.desk.user).exists()
    referral.refresh_from_db()
    assert referral.escalated_at is not None
    assert referral.version == 1  # a person's edit in flight is not made stale by the escalation
    event = AuditEvent.objects.get(record_type="Referral", record_id=str(referral.pk))
    assert event.actor_id is None and event.family_id == world.family.pk
    assert event.detail["notified_user_ids"] == sorted([world.referrer.user.pk, world.lead.user.pk])
    assert verify_chain().ok


def test_a_second_run_sends_nothing(world, smtp_server):
    referral = world.referral()
    assert escalate_overdue() == 1
    escalated_at = Referral.objects.get(pk=referral.pk).escalated_at
    sent = len(smtp_server.messages)

    assert escalate_overdue() == 0
    assert escalate_overdue_referrals.call() == 0
    assert len(smtp_server.messages) == sent == 2
    assert ReferralNotice.objects.count() == 2
    assert Referral.objects.get(pk=referral.pk).escalated_at == escalated_at


def test_a_referral_answered_in_time_or_not_yet_due_sends_nothing(world, smtp_server):
    world.referral(status=ReferralStatus.ACCEPTED, first_response_at=SENT_AT + timedelta(hours=3))
    world.referral(status=ReferralStatus.IN_PROGRESS)
    world.referral(status=ReferralStatus.ON_HOLD)
    world.referral(sent_at=clock.now() - timedelta(minutes=5))  # requested just now: not due yet
    world.referral(status=ReferralStatus.RECEIVED, sent_at=clock.now())
    assert escalate_overdue() == 0
    assert smtp_server.messages == [] and not ReferralNotice.objects.exists()
    assert not Referral.objects.filter(escalated_at__isnull=False).exists()


@pytest.mark.parametrize(
    "status",
    [
        ReferralStatus.REJECTED,
        ReferralStatus.CANCELLED,
        ReferralStatus.COMPLETED,
        ReferralStatus.FAILED,
        ReferralStatus.DRAFT,
    ],
)
def test_a_closed_or_unsent_referral_sends_nothing(world, smtp_server, status):
    world.referral(status=status)
    assert escalate_overdue() == 0
    assert smtp_server.messages == [] and not ReferralNotice.objects.exists()


def test_a_referral_received_but_not_answered_is_escalated(world, smtp_server):
    world.referral(status=ReferralStatus.RECEIVED)
    assert escalate_overdue() == 1
    assert len(smtp_server.messages) == 2


def test_without_a_programme_lead_the_staff_who_take_in_referrals_are_told(world, smtp_server):
    Membership.objects.filter(pk=world.lead.pk).update(is_active=False)
    world.referral()
    assert escalate_overdue() == 1
    assert recipients(smtp_server) == [["ana@bridges.example.org"], ["intake@harbor.example.org"]]


def test_a_referrer_who_has_left_is_not_told_but_the_receiving_side_is(world, smtp_server):
    User.objects.filter(pk=world.referrer.user.pk).update(is_active=False)
    world.referral()
    assert escalate_overdue() == 1
    assert recipients(smtp_server) == [["lead@harbor.example.org"]]


def test_when_the_mail_server_is_down_the_notices_stay_and_the_next_run_emails_them(world, smtp_server, settings):
    referral = world.referral()
    use_smtp(settings, free_port())  # nothing listens there
    assert escalate_overdue() == 1  # no error reaches the job
    notices = ReferralNotice.objects.filter(referral=referral)
    assert notices.count() == 2 and not notices.filter(emailed_at__isnull=False).exists()
    assert Referral.objects.get(pk=referral.pk).escalated_at is not None

    use_smtp(settings, smtp_server.port)  # the server is back for the next daily run
    assert escalate_overdue_referrals.call() == 0  # nothing new to escalate...
    assert recipients(smtp_server) == [["ana@bridges.example.org"], ["lead@harbor.example.org"]]  # ...but sent
    assert not notices.filter(emailed_at__isnull=True).exists()
    assert escalate_overdue_referrals.call() == 0
    assert len(smtp_server.messages) == 2


# --- two runs at once (PostgreSQL) ---------------------------------------------------------------------------


def test_a_run_skips_a_referral_another_run_holds(world, smtp_server, db_vendor):
    if db_vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: no two runs overlap")
    referral = world.referral()
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_run() -> None:
        try:
            with transaction.atomic():
                Referral.objects.select_for_update().get(pk=referral.pk)
                holding.set()
                release.wait(timeout=60)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    other = threading.Thread(target=other_run)
    other.start()
    assert holding.wait(timeout=60)
    try:
        assert escalate_overdue() == 0  # skipped at once, not waited for
    finally:
        release.set()
        other.join()
    assert not errors
    assert escalate_overdue() == 1
    assert len(smtp_server.messages) == 2


def test_runs_at_the_same_time_escalate_each_referral_once(world, smtp_server, db_vendor):
    if db_vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: no two runs overlap")
    referrals = [world.referral() for _ in range(3)]
    runs = 4
    start = threading.Barrier(runs)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=60)
            results.append(escalate_overdue())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(results) == len(referrals)
    assert len(smtp_server.messages) == 2 * len(referrals)
    assert ReferralNotice.objects.count() == 2 * len(referrals)
    assert AuditEvent.objects.filter(record_type="Referral").count() == len(referrals)


# --- the daily schedule --------------------------------------------------------------------------------------


def waiting_runs() -> Any:
    return DBTaskResult.objects.filter(task_path=escalate_overdue_referrals.module_path, status=TaskResultStatus.READY)


def test_the_worker_runs_the_job_and_the_job_schedules_tomorrows_run(world, smtp_server):
    referral = world.referral()
    assert ensure_daily_scheduled() is not None
    assert ensure_daily_scheduled() is None  # one waiting run is enough
    assert waiting_runs().count() == 1

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    started = clock.now()
    try:
        # What `make run` starts beside the web server, here until the queue is empty.
        call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)

    done = DBTaskResult.objects.get(
        task_path=escalate_overdue_referrals.module_path, status=TaskResultStatus.SUCCESSFUL
    )
    assert done.return_value == 1
    assert Referral.objects.get(pk=referral.pk).escalated_at is not None
    assert recipients(smtp_server) == [["ana@bridges.example.org"], ["lead@harbor.example.org"]]
    [tomorrow] = waiting_runs()
    assert tomorrow.run_after in {next_run_at(started), next_run_at(clock.now())}
    assert tomorrow.run_after.astimezone(NEW_YORK).hour == 7
    assert ensure_daily_scheduled() is None


def test_the_job_does_not_pile_up_runs(world):
    escalate_overdue_referrals.call()
    escalate_overdue_referrals.call()
    assert waiting_runs().count() == 1


def test_the_daily_run_is_at_seven_in_the_morning_local_time():
    assert next_run_at(datetime(2026, 3, 6, 6, 59, tzinfo=NEW_YORK)) == datetime(2026, 3, 6, 7, tzinfo=NEW_YORK)
    assert next_run_at(datetime(2026, 3, 6, 7, 0, tzinfo=NEW_YORK)) == datetime(2026, 3, 7, 7, tzinfo=NEW_YORK)
    # Across the start of daylight saving time (8 March 2026): still 07:00 on the clock, 11:00 UTC.
    run = next_run_at(datetime(2026, 3, 7, 20, 0, tzinfo=NEW_YORK))
    assert run == datetime(2026, 3, 8, 7, tzinfo=NEW_YORK) and run.tzinfo == UTC and run.hour == 11
    assert next_run_at(datetime(2026, 3, 6, 23, 30, tzinfo=UTC)) == datetime(2026, 3, 7, 7, tzinfo=NEW_YORK)


# --- notices -------------------------------------------------------------------------------------------------


def test_a_notice_with_the_same_key_is_given_once_per_person(world, smtp_server):
    referral = world.referral(status=ReferralStatus.ACCEPTED)
    people = [world.referrer.user, world.lead.user, world.referrer.user]
    assert notify(referral, people, key=f"accepted:{referral.pk}", subject="Kinfold: an answer", body="x\n") == 2
    assert notify(referral, people, key=f"accepted:{referral.pk}", subject="Kinfold: an answer", body="x\n") == 0
    assert len(smtp_server.messages) == 2
    assert notify(referral, [world.lead.user], key=f"completed:{referral.pk}", subject="Kinfold: done", body="y\n") == 1
    assert len(smtp_server.messages) == 3


def test_a_person_without_an_email_address_is_told_in_kinfold_only(world, smtp_server):
    User.objects.filter(pk=world.lead.user.pk).update(email="")
    world.referral()
    assert escalate_overdue() == 1
    assert recipients(smtp_server) == [["ana@bridges.example.org"]]
    [notice] = unread_notices(world.lead.user)
    assert notice.emailed_at is None


def test_marking_read_touches_only_ones_own_notices(world, smtp_server):
    first, second = world.referral(), world.referral()
    assert escalate_overdue() == 2
    [newest, oldest] = unread_notices(world.referrer.user)
    assert {newest.referral_id, oldest.referral_id} == {first.pk, second.pk}
    lead_notice = unread_notices(world.lead.user).first()
    assert lead_notice is not None

    assert mark_read(world.referrer.user, [newest.pk, lead_notice.pk]) == 1
    assert [n.pk for n in unread_notices(world.referrer.user)] == [oldest.pk]
    assert unread_notices(world.lead.user).count() == 2  # not hers to mark
    assert mark_read(world.referrer.user) == 1
    assert not unread_notices(world.referrer.user).exists()


def test_an_organisations_intake_leads_are_its_programme_leads_else_its_intake_roles(world):
    assert intake_leads(world.harbor.pk) == [world.lead.user]
    Membership.objects.filter(pk=world.lead.pk).update(is_active=False)
    assert intake_leads(world.harbor.pk) == [world.intake.user]
    nobody = Organization.objects.create(name="Lakeview Court", type=OrganizationType.COURT)
    staff(nobody, Role.JUDGE)
    assert intake_leads(nobody.pk) == []
