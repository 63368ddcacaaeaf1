from __future__ import annotations

import io
import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import close_old_connections, connection
from django.utils import timezone

from studio.accounts.models import ApiKey, Membership
from studio.credits import ledger
from studio.credits.models import EntryKind, Grant, LedgerEntry, Pack, RedemptionCode, Reservation
from tests.factories import ledger_total, make_job

D = Decimal


def entries(job, kind):
    return list(LedgerEntry.objects.filter(job=job, kind=kind).values_list("grant_id", "amount"))


def assert_ledger_consistent(workspace):
    """The cached grant remainders equal the ledger, and the balance equals the ledger sum."""
    for g in Grant.objects.filter(workspace=workspace):
        total = sum((e.delta for e in g.entries.all()), D("0"))
        assert g.remaining == total, f"grant {g.pk}: cached {g.remaining} != ledger {total}"
        assert g.remaining >= 0
    ledger.expire_grants()
    assert ledger.balance(workspace) == ledger_total(workspace)


def test_it_reserves_from_the_grant_that_expires_first(alpha, alice):
    now = timezone.now()
    late = ledger.grant(alpha, 10, now=now - timedelta(days=1))
    early = ledger.grant(alpha, 10, now=now - timedelta(days=100))
    job = make_job(alpha, alice)
    ledger.reserve(alpha, alice, job, job.quote_obj)
    assert entries(job, EntryKind.RESERVE) == [(early.id, D("4.00"))]
    assert ledger.balance(alpha) == D("16.00")
    assert late.id != early.id


def test_a_reservation_spanning_two_grants_gives_back_to_each_in_order(alpha, alice):
    now = timezone.now()
    first = ledger.grant(alpha, 3, now=now - timedelta(days=10))
    second = ledger.grant(alpha, 10, now=now)
    job = make_job(alpha, alice, {"model": "gpt-image-2", "quality": "medium", "n": 2})  # 8
    ledger.reserve(alpha, alice, job, job.quote_obj)
    assert entries(job, EntryKind.RESERVE) == [(first.id, D("3.00")), (second.id, D("5.00"))]
    ledger.capture(job, D("4.00"))  # one of two images delivered
    assert entries(job, EntryKind.CAPTURE) == [(first.id, D("3.00")), (second.id, D("1.00"))]
    assert entries(job, EntryKind.RELEASE) == [(second.id, D("4.00"))]
    assert ledger.balance(alpha) == D("9.00")
    assert_ledger_consistent(alpha)


def test_a_capture_never_exceeds_its_reservation(alpha, alice):
    ledger.grant(alpha, 100)
    job = make_job(alpha, alice)
    ledger.reserve(alpha, alice, job, job.quote_obj)
    settlement = ledger.capture(job, D("400"))
    assert (settlement.captured, settlement.released) == (D("4.00"), D("0.00"))
    assert ledger.balance(alpha) == D("96.00")


def test_a_reservation_is_captured_once(alpha, alice):
    ledger.grant(alpha, 100)
    job = make_job(alpha, alice)
    ledger.reserve(alpha, alice, job, job.quote_obj)
    assert ledger.capture(job, D("4")) is not None
    rows = LedgerEntry.objects.count()
    assert ledger.capture(job, D("4")) is None
    assert ledger.release(job, "failed") is None
    assert LedgerEntry.objects.count() == rows
    assert ledger.balance(alpha) == D("96.00")


def test_a_reservation_is_released_once_and_failed_work_costs_nothing(alpha, alice):
    ledger.grant(alpha, 100)
    job = make_job(alpha, alice)
    ledger.reserve(alpha, alice, job, job.quote_obj)
    assert ledger.balance(alpha) == D("96.00")
    assert ledger.release(job, "failed") is not None
    assert ledger.release(job, "failed") is None
    assert ledger.capture(job, D("4")) is None
    assert ledger.balance(alpha) == D("100.00")
    assert entries(job, EntryKind.CAPTURE) == []


def test_insufficient_credits_is_a_402_that_writes_nothing(alpha, alice):
    ledger.grant(alpha, 3)
    job = make_job(alpha, alice)
    rows = LedgerEntry.objects.count()
    with pytest.raises(ledger.InsufficientCredits) as info:
        ledger.reserve(alpha, alice, job, job.quote_obj)
    assert info.value.status == 402
    assert info.value.code == "insufficient_credits"
    assert "needs 4.00 credits and the workspace has 3.00" in info.value.message
    assert LedgerEntry.objects.count() == rows
    assert not Reservation.objects.exists()


def test_expired_credits_cannot_be_spent_and_are_written_off(alpha, alice):
    now = timezone.now()
    old = ledger.grant(alpha, 50, now=now - timedelta(days=366))
    assert ledger.balance(alpha) == D("0.00")
    job = make_job(alpha, alice)
    with pytest.raises(ledger.InsufficientCredits):
        ledger.reserve(alpha, alice, job, job.quote_obj)
    assert ledger.expire_grants() == 1
    assert ledger.expire_grants() == 0  # once
    write_off = LedgerEntry.objects.get(grant=old, kind=EntryKind.EXPIRE)
    assert write_off.delta == D("-50.00")
    old.refresh_from_db()
    assert old.remaining == D("0.00")
    assert ledger_total(alpha) == D("0.00")


def test_credits_released_into_an_expired_pack_are_written_off(alpha, alice):
    now = timezone.now()
    ledger.grant(alpha, 10, now=now - timedelta(days=364))
    job = make_job(alpha, alice)
    ledger.reserve(alpha, alice, job, job.quote_obj, now=now)
    later = now + timedelta(days=2)
    ledger.release(job, "failed", now=later)
    assert ledger.balance(alpha, later) == D("0.00")
    # The 4 that came back are written off at once; the 6 never reserved wait for the sweep.
    assert LedgerEntry.objects.get(kind=EntryKind.EXPIRE).amount == D("4.00")
    assert ledger_total(alpha) == D("6.00")
    ledger.expire_grants(later)
    assert ledger_total(alpha) == D("0.00")


def test_a_monthly_limit_refuses_and_says_which_limit(alpha, bob):
    ledger.grant(alpha, 100)
    Membership.objects.filter(user=bob).update(monthly_limit=D("6.00"))
    first = make_job(alpha, bob)
    ledger.reserve(alpha, bob, first, first.quote_obj)
    second = make_job(alpha, bob)
    with pytest.raises(ledger.InsufficientCredits) as info:
        ledger.reserve(alpha, bob, second, second.quote_obj)
    assert "monthly limit is 6.00 and 2.00 of it is left" in info.value.message
    assert info.value.status == 402


def test_a_refund_restores_the_balance_and_the_monthly_total(alpha, bob):
    ledger.grant(alpha, 100)
    Membership.objects.filter(user=bob).update(monthly_limit=D("4.00"))
    job = make_job(alpha, bob)
    ledger.reserve(alpha, bob, job, job.quote_obj)
    assert ledger.spent_this_month(alpha, bob) == D("4.00")
    ledger.release(job, "failed")
    assert ledger.spent_this_month(alpha, bob) == D("0.00")
    assert ledger.balance(alpha) == D("100.00")
    again = make_job(alpha, bob)
    ledger.reserve(alpha, bob, again, again.quote_obj)  # fits the limit again


def test_last_months_spending_does_not_count_against_this_month(alpha, bob):
    now = timezone.now()
    last_month = now - timedelta(days=35)  # always in an earlier calendar month
    ledger.grant(alpha, 100, now=now - timedelta(days=40))
    Membership.objects.filter(user=bob).update(monthly_limit=D("4.00"))
    old = make_job(alpha, bob)
    ledger.reserve(alpha, bob, old, old.quote_obj, now=last_month)
    assert ledger.spent_this_month(alpha, bob, last_month) == D("4.00")  # its limit was used
    assert ledger.spent_this_month(alpha, bob, now) == D("0.00")
    job = make_job(alpha, bob)
    assert ledger.reserve(alpha, bob, job, job.quote_obj, now).amount == D("4.00")
    assert ledger.spent_this_month(alpha, bob, now) == D("4.00")
    late = make_job(alpha, bob)
    with pytest.raises(ledger.InsufficientCredits):  # this month's limit is now used up
        ledger.reserve(alpha, bob, late, late.quote_obj, now)


def test_an_api_key_cap_refuses_past_the_cap(alpha, alice):
    ledger.grant(alpha, 100)
    key, _ = ApiKey.create(user=alice, workspace=alpha, name="ci", credit_cap=D("5"))
    job = make_job(alpha, alice, api_key=key)
    ledger.reserve(alpha, alice, job, job.quote_obj)
    second = make_job(alpha, alice, api_key=key)
    with pytest.raises(ledger.InsufficientCredits) as info:
        ledger.reserve(alpha, alice, second, second.quote_obj)
    assert "capped at 5.00 and has 1.00 left" in info.value.message


def test_the_ledger_is_append_only(alpha):
    g = ledger.grant(alpha, 10)
    entry = g.entries.get()
    entry.amount = D("1000")
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_a_redemption_code_works_once(alpha, other, alice, charlie):
    pack = Pack.objects.create(name="Studio 1000", credits=D("1000"), price_label="$10")
    code = RedemptionCode.objects.create(pack=pack, batch="launch")
    ledger.redeem(code.code.lower().replace("-", ""), alpha, alice)
    assert ledger.balance(alpha) == D("1000.00")
    with pytest.raises(ledger.CodeError, match="already been used"):
        ledger.redeem(code.code, other, charlie)
    with pytest.raises(ledger.CodeError, match="doesn't exist"):
        ledger.redeem("AAAA-BBBB-CCCC-DDDD", other, charlie)
    assert ledger.balance(other) == D("0.00")


def test_a_negative_adjustment_draws_first_to_expire_and_cannot_overdraw(alpha):
    ledger.grant(alpha, 10)
    ledger.adjust(alpha, D("-4"), note="refund to customer outside the studio")
    assert ledger.balance(alpha) == D("6.00")
    with pytest.raises(ledger.InsufficientCredits):
        ledger.adjust(alpha, D("-7"))
    ledger.adjust(alpha, D("3"))
    assert ledger.balance(alpha) == D("9.00")
    assert_ledger_consistent(alpha)


@pytest.mark.servers
@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_overdraw(alpha, alice):
    """Twenty threads race for credits that cover five: exactly five win."""
    ledger.grant(alpha, 20)
    jobs = [make_job(alpha, alice) for _ in range(20)]
    outcomes = []
    barrier = threading.Barrier(len(jobs))

    def submit(job):
        close_old_connections()
        try:
            barrier.wait()
            ledger.reserve(alpha, alice, job, job.quote_obj)
            outcomes.append("ok")
        except ledger.InsufficientCredits:
            outcomes.append("402")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["402"] * 15 + ["ok"] * 5
    assert ledger.balance(alpha) == D("0.00")
    assert Reservation.objects.count() == 5
    assert_ledger_consistent(alpha)


@pytest.mark.servers
@pytest.mark.django_db(transaction=True)
def test_concurrent_settlements_end_a_reservation_once(alpha, alice):
    ledger.grant(alpha, 20)
    job = make_job(alpha, alice)
    ledger.reserve(alpha, alice, job, job.quote_obj)
    results = []

    def settle(i):
        close_old_connections()
        try:
            fn = (
                (lambda: ledger.capture(job, D("4")))
                if i % 2
                else (lambda: ledger.release(job, "failed"))
            )
            results.append(fn())
        finally:
            connection.close()

    threads = [threading.Thread(target=settle, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([r for r in results if r is not None]) == 1
    assert LedgerEntry.objects.filter(job=job).exclude(kind=EntryKind.RESERVE).count() == 1
    assert_ledger_consistent(alpha)


@pytest.mark.parametrize("seed", range(6))
def test_random_job_outcomes_keep_the_ledger_and_balance_equal(alpha, alice, bob, seed):
    """Property: whatever happens to jobs, the ledger sum equals the balance, nothing goes
    negative and no reservation is left open."""
    rng = random.Random(seed)
    now = timezone.now()
    for days_ago in rng.sample(range(0, 360), 3):
        ledger.grant(alpha, rng.choice([5, 20, 50]), now=now - timedelta(days=days_ago))
    requests = [
        {"model": "gpt-image-2", "quality": "medium", "n": 3},
        {"model": "kling", "duration": 5},
        {"model": "veo", "quality": "fast", "duration": 3, "size": "1920x1080"},
        {"model": "nano-banana-pro", "n": 2},
    ]
    expected_spent = D("0")
    for _ in range(40):
        user = rng.choice([alice, bob])
        job = make_job(alpha, user, rng.choice(requests))
        q = job.quote_obj
        try:
            ledger.reserve(alpha, user, job, q)
        except ledger.InsufficientCredits:
            assert ledger.balance(alpha) < q.credits
            continue
        outcome = rng.choice(["success", "partial", "failure", "cancel", "duplicate"])
        if outcome == "success":
            expected_spent += ledger.capture(job, q.credits).captured
        elif outcome == "partial":
            expected_spent += ledger.capture(job, q.for_delivery(rng.randint(0, q.units))).captured
        elif outcome in ("failure", "cancel"):
            ledger.release(job, outcome)
        else:  # the same completion delivered twice, racing a failure
            expected_spent += ledger.capture(job, q.credits).captured
            assert ledger.capture(job, q.credits) is None
            assert ledger.release(job, "failed") is None
        assert ledger.balance(alpha) >= 0
    assert not Reservation.objects.filter(settlement__isnull=True).exists()
    granted = sum((g.credits for g in Grant.objects.filter(workspace=alpha)), D("0"))
    assert ledger.balance(alpha) == granted - expected_spent
    assert_ledger_consistent(alpha)


def test_grant_credits_and_balance_commands(alpha):
    out = io.StringIO()
    call_command("grant_credits", "--workspace", "Alpha", "--credits", "120", stdout=out)
    assert "Granted 120.00 credits to Alpha" in out.getvalue()
    out = io.StringIO()
    call_command("balance", "--workspace", "Alpha", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[-1] == "120.00"
    assert "expire on" in lines[0]


def test_grant_credits_refuses_bad_input(alpha):
    with pytest.raises(CommandError, match="no workspace named"):
        call_command("grant_credits", "--workspace", "Nope", "--credits", "1")
    with pytest.raises(CommandError, match="positive"):
        call_command("grant_credits", "--workspace", "Alpha", "--credits", "-5")
    with pytest.raises(CommandError, match="must be a number"):
        call_command("grant_credits", "--workspace", "Alpha", "--credits", "lots")
    with pytest.raises(CommandError, match="no pack named"):
        call_command("grant_credits", "--workspace", "Alpha", "--credits", "5", "--pack", "X")
    with pytest.raises(CommandError, match="no workspace named"):
        call_command("balance", "--workspace", "Nope")


def test_seed_demo_grants_the_starter_credits_once(db, monkeypatch, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()
    call_command("balance", "--workspace", "Demo studio", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "500.00"
