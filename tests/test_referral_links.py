"""One-time links for a receiving organisation without accounts: the token is random and only its hash is
kept; a link expires, is revoked, closes with its referral, and works once per action. Every way a link can
fail — unknown, tampered, truncated, expired, revoked, closed — gives the same ``None``, so the page behind it
reveals nothing. Two submits at once spend an action once (PostgreSQL, real threads)."""

from __future__ import annotations

import re
import string
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinfold import clock
from kinfold.directory.models import Need
from kinfold.organizations.models import OrganizationType
from kinfold.referrals.links import (
    ACTION_STATUS,
    ACTIONS,
    actions_left,
    hash_token,
    issue_link,
    open_link,
    revoke_links,
    use_action,
)
from kinfold.referrals.models import OPEN_STATUSES, Referral, ReferralLink, ReferralStatus
from tests.factories import OrganizationFactory, make_family

INTAKE_EMAIL = "intake@harbor-housing.example.org"
PATH = re.compile(r"^/referrals/answer/(?P<token>[A-Za-z0-9_-]+)/$")


def make_referral(coordinator, receiving_org, *, status: str = ReferralStatus.REQUESTED, **fields) -> Referral:
    family = fields.pop("family", None) or make_family(coordinator, given_name="Maria", family_name="Lopez")
    sent_at = clock.now() - timedelta(hours=1)
    return Referral.objects.create(
        family=family,
        need=Need.HOUSING,
        kind="social_needs",
        sensitivity="social_needs",
        purpose="care_coordination",
        receiving_org=receiving_org,
        created_by_org=coordinator.organization,
        created_by=coordinator.user,
        status=status,
        sent_at=sent_at,
        due_at=sent_at + timedelta(days=2),
        **fields,
    )


def token_of(path: str) -> str:
    match = PATH.match(path)
    assert match, path
    return match["token"]


@pytest.fixture
def housing_org():
    return OrganizationFactory(name="Harbor Housing Partners", type=OrganizationType.COMMUNITY)


@pytest.fixture
def referral(db, coordinator, housing_org) -> Referral:
    return make_referral(coordinator, housing_org)


@pytest.fixture
def token(referral) -> str:
    return token_of(issue_link(referral, INTAKE_EMAIL))


# --- issuing and opening -------------------------------------------------------------------------------------


def test_a_link_opens_its_referral_and_kinfold_keeps_only_the_hash_of_its_token(referral, token):
    link = open_link(token)
    assert link is not None and link.referral == referral
    row = ReferralLink.objects.get(referral=referral)
    assert row.token_hash == hash_token(token) and len(row.token_hash) == 64
    assert all(token not in str(value) for value in row.__dict__.values())
    assert row.email == INTAKE_EMAIL
    assert row.expires_at == row.created_at + timedelta(days=14)


def test_the_token_carries_nothing_about_the_referral_or_the_family(referral, coordinator, housing_org):
    tokens = [token_of(issue_link(referral, INTAKE_EMAIL)) for _ in range(5)]
    assert len(set(tokens)) == 5  # random each time, never derived from the referral
    for token in tokens:
        assert len(token) == 43 and set(token) <= set(string.ascii_letters + string.digits + "-_")
        for personal in ("Maria", "Lopez", "Harbor", "intake", "housing"):
            assert personal.lower() not in token.lower()


def test_the_link_lasts_the_configured_number_of_days(settings, referral):
    settings.KINFOLD_REFERRAL_LINK_DAYS = 3
    now = clock.now()
    token = token_of(issue_link(referral, INTAKE_EMAIL, at=now))
    assert open_link(token, at=now + timedelta(days=3) - timedelta(seconds=1)) is not None
    assert open_link(token, at=now + timedelta(days=3)) is None


def test_an_expired_link_opens_nothing(referral, token):
    ReferralLink.objects.filter(referral=referral).update(expires_at=clock.now() - timedelta(seconds=1))
    assert open_link(token) is None


def test_a_revoked_link_opens_nothing(referral, token):
    assert revoke_links(referral) == 1
    assert open_link(token) is None
    assert revoke_links(referral) == 0  # revoked once


@pytest.mark.parametrize("status", sorted(set(ReferralStatus.values) - set(OPEN_STATUSES)))
def test_a_link_to_a_closed_or_draft_referral_opens_nothing(referral, token, status):
    Referral.objects.filter(pk=referral.pk).update(status=status)
    assert open_link(token) is None


def test_no_link_is_made_for_a_referral_that_is_not_open(db, coordinator, housing_org):
    closed = make_referral(coordinator, housing_org, status=ReferralStatus.CANCELLED)
    with pytest.raises(ValueError, match="only for a referral that is open"):
        issue_link(closed, INTAKE_EMAIL)
    assert not ReferralLink.objects.exists()


def test_a_truncated_or_lengthened_token_opens_nothing(token):
    assert open_link(token[:-1]) is None
    assert open_link(token[:20]) is None
    assert open_link(token + "A") is None
    assert open_link("") is None
    assert open_link(" " + token) is None
    assert open_link(token.upper() if token.upper() != token else token.lower()) is None


def test_the_stored_hash_is_not_a_key(referral, token):
    assert open_link(ReferralLink.objects.get(referral=referral).token_hash) is None


def test_another_links_token_opens_only_its_own_referral(referral, token, coordinator, housing_org):
    other_referral = make_referral(coordinator, housing_org, family=referral.family)
    other_token = token_of(issue_link(other_referral, "someone@else.example.org"))
    link = open_link(other_token)
    assert link is not None and link.referral_id == other_referral.pk != referral.pk
    # Spending the other link's action does not spend this one's.
    assert use_action(link, "accept")
    mine = open_link(token)
    assert mine is not None and actions_left(mine) == {"accept", "reject"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=42), replacement=st.sampled_from(string.ascii_letters + "0-_"))
def test_a_token_with_any_one_character_changed_opens_nothing(token, position, replacement):
    if token[position] == replacement:
        return
    tampered = token[:position] + replacement + token[position + 1 :]
    assert open_link(tampered) is None


# --- actions, once each --------------------------------------------------------------------------------------


def test_each_action_works_once(token):
    link = open_link(token)
    assert link is not None
    assert use_action(link, "accept") is True
    assert use_action(link, "accept") is False
    again = open_link(token)
    assert again is not None and again.used_actions == ["accept"]
    assert use_action(again, "accept") is False


def test_a_reused_answer_after_the_referral_moved_on_is_refused(referral, token):
    link = open_link(token)
    assert link is not None and use_action(link, "accept")
    Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.ACCEPTED)  # what the service does next
    link = open_link(token)
    assert link is not None
    assert actions_left(link) == {"start", "complete", "fail"}
    assert use_action(link, "accept") is False
    assert use_action(link, "reject") is False  # a declined answer after accepting: not from this link
    assert use_action(link, "complete") is True
    assert use_action(link, "complete") is False


def test_only_the_actions_of_the_referrals_status_are_allowed(token):
    link = open_link(token)
    assert link is not None
    for action in ("complete", "start", "fail", "cancel", "send", "", "accept; drop table"):
        assert use_action(link, action) is False
    assert link.used_actions == []


def test_an_action_on_a_link_that_stopped_working_is_refused(referral, token):
    link = open_link(token)
    assert link is not None
    revoke_links(referral)
    assert use_action(link, "accept") is False
    ReferralLink.objects.filter(pk=link.pk).update(revoked_at=None, expires_at=clock.now() - timedelta(seconds=1))
    assert use_action(link, "accept") is False
    assert ReferralLink.objects.get(pk=link.pk).used_actions == []


def test_the_action_table_answers_only_for_the_receiving_side_of_an_open_referral():
    assert set(ACTIONS) == set(OPEN_STATUSES)
    assert {ACTION_STATUS[a] for actions in ACTIONS.values() for a in actions} <= {
        ReferralStatus.ACCEPTED,
        ReferralStatus.REJECTED,
        ReferralStatus.IN_PROGRESS,
        ReferralStatus.COMPLETED,
        ReferralStatus.FAILED,
    }


def test_an_action_spent_in_a_transaction_that_rolls_back_is_not_spent(token):
    link = open_link(token)
    assert link is not None

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        assert use_action(link, "reject")
        raise Refused  # e.g. the service found the rejection had no reason
    fresh = open_link(token)
    assert fresh is not None and fresh.used_actions == []
    assert use_action(fresh, "reject") is True


# --- two submits at once (PostgreSQL) ------------------------------------------------------------------------


def _someone_waits_for_a_lock() -> bool:
    for _ in range(600):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


@pytest.fixture
def committed_token(committing_db, coordinator, housing_org, db_vendor) -> str:
    if db_vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: two submits cannot overlap")
    return token_of(issue_link(make_referral(coordinator, housing_org), INTAKE_EMAIL))


def test_a_second_submit_waits_for_the_first_and_is_refused(committed_token):
    """The first submit holds the link's row inside its transaction; the second waits on the lock, and once the
    first commits it finds the action spent."""
    holding, release = threading.Event(), threading.Event()
    results: dict[str, bool] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                link = open_link(committed_token)
                assert link is not None
                results["first"] = use_action(link, "accept")
                holding.set()
                release.wait(timeout=60)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def second() -> None:
        try:
            link = open_link(committed_token)  # opened before the first committed: it still looks unused
            assert link is not None and link.used_actions == []
            results["second"] = use_action(link, "accept")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(timeout=60)
    two = threading.Thread(target=second)
    two.start()
    blocked = _someone_waits_for_a_lock()
    release.set()
    one.join()
    two.join()
    assert not errors
    assert blocked, "the second submit never waited for the first"
    assert results == {"first": True, "second": False}
    assert ReferralLink.objects.get(token_hash=hash_token(committed_token)).used_actions == ["accept"]


def test_many_submits_at_once_spend_the_action_once(committed_token):
    submits = 6
    start = threading.Barrier(submits)
    results: list[bool] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            link = open_link(committed_token)
            assert link is not None
            start.wait(timeout=60)
            results.append(use_action(link, "reject"))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(submits)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(results) == [False] * (submits - 1) + [True]
    assert ReferralLink.objects.get(token_hash=hash_token(committed_token)).used_actions == ["reject"]
