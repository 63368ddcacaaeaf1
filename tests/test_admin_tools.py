"""The admin as a team lead and an operator use it: the dashboard, retrying and cancelling jobs,
granting and exporting codes, revoking keys and deactivating people — and what it won't let
anyone edit."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.accounts.models import ApiKey, Membership, Workspace
from studio.credits import ledger
from studio.credits.models import LedgerEntry, Pack, RedemptionCode, Reservation
from studio.generations import runner
from studio.generations.models import Job
from tests.conftest import PASSWORD
from tests.factories import make_job

D = Decimal
IMAGE = {"model": "nano-banana"}  # 2 credits


@pytest.fixture
def staff(make_user):
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def submit(workspace, user, prompt="a red bicycle"):
    return runner.submit(
        workspace=workspace, user=user, kind="generate", request=IMAGE, prompt=prompt
    )


def act(client, model: str, action: str, objects) -> str:
    r = client.post(
        f"/admin/{model}/",
        {"action": action, "_selected_action": [o.pk for o in objects]},
        follow=True,
    )
    assert r.status_code == 200
    return r.content.decode()


# ---- the dashboard --------------------------------------------------------------------------


def test_the_dashboard_is_linked_from_the_admin_home_and_for_staff_only(client, alice, staff):
    client.force_login(alice)
    r = client.get("/admin/dashboard/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    client.force_login(staff)
    assert 'href="/admin/dashboard/"' in client.get("/admin/").content.decode()
    assert client.get("/admin/dashboard/").status_code == 200


@pytest.mark.servers  # its SQL differs between SQLite and PostgreSQL
def test_the_dashboard_answers_a_team_leads_questions(admin_client, alpha, other, alice, bob):
    now = timezone.now()
    ledger.grant(alpha, 40)  # under 50 credits: running out
    ledger.grant(other, 500)
    Membership.objects.filter(user=bob).update(monthly_limit=D("5.00"))
    slow = submit(alpha, bob)
    runner.run_job(slow.pk)
    Job.objects.filter(pk=slow.pk).update(
        created_at=now - timedelta(minutes=7, seconds=5), finished_at=now
    )
    submit(alpha, bob, "second").fail("internal_error")  # released: bob spent 2 of 5
    submit(alpha, bob, "third")  # queued, holds 2: 4 of 5 spent, 80 %
    oldest = make_job(alpha, alice, created_at=now - timedelta(minutes=3))

    html = admin_client.get("/admin/dashboard/").content.decode()
    flat = " ".join(html.split())
    today = timezone.localdate(now)
    assert f'<td class="day">{today:%a} {today.day} {today:%b}</td>' in flat
    # today: 4 jobs (the slow one was submitted 7 minutes ago), 1 failed, 2 credits spent
    assert '<td class="num">4</td><td><meter min="0" max="4" value="4">4</meter></td>' in flat
    assert '<td class="num">1</td><td class="num">2</td>' in flat
    assert f'>{slow.model}</a></td><td class="num">2</td><td class="num">1</td>' in flat
    assert '<td class="num">50 %</td>' in flat  # 1 of the 2 that ended failed
    assert f">{slow.public_id}</a>" in flat and "7 min 5 s" in flat
    assert f">{oldest.public_id}</a>" in html and "waiting 3" in flat
    running_out = html[html.index('id="running-out"') : html.index('id="near-limits"')]
    assert "Alpha" in running_out and "Other" not in running_out
    assert f"?workspace={alpha.pk}" in running_out
    near = html[html.index('id="near-limits"') :]
    assert ">bob</a>" in near and '<td class="num">4</td><td class="num">5</td>' in " ".join(
        near.split()
    )
    assert "alice" not in near


@pytest.mark.servers  # its SQL differs between SQLite and PostgreSQL
def test_the_dashboard_takes_the_same_queries_with_ten_times_the_jobs(
    admin_client, alpha, alice, bob
):
    Membership.objects.filter(user=bob).update(monthly_limit=D("50"))
    ledger.grant(alpha, 1000)
    now = timezone.now()

    def add_jobs(n: int):
        for i in range(n):
            job = submit(alpha, bob if i % 2 else alice, f"p{i}")
            if i % 3 == 0:  # completed, without rendering anything
                Job.objects.filter(pk=job.pk).update(status="completed", finished_at=now)
                ledger.capture(job, D(2), now)
            elif i % 3 == 1:
                job.fail("internal_error")
        for i in range(n):
            Workspace.objects.create(name=f"W{n}-{i}")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/admin/dashboard/").status_code == 200
        return len(captured)

    add_jobs(3)
    few = queries()
    add_jobs(30)
    assert queries() == few


# ---- acting on jobs -------------------------------------------------------------------------


def test_staff_retry_a_failed_job_billed_to_its_own_user_and_the_ledger_names_them(
    admin_client, staff, alpha, bob
):
    ledger.grant(alpha, 10)
    failed = submit(alpha, bob)
    failed.fail("internal_error")
    done = submit(alpha, bob)
    runner.run_job(done.pk)
    html = act(admin_client, "generations/job", "retry_failed", [failed, done])
    retry = Job.objects.get(retry_of=failed)
    assert f"Retried as {retry.public_id}." in html
    assert not Job.objects.filter(retry_of=done).exists()  # only failed jobs are retried
    assert retry.status == "queued" and retry.user == bob and retry.workspace == alpha
    assert Reservation.objects.get(job=retry).user == bob
    reserve = LedgerEntry.objects.get(job=retry, kind="reserve")
    assert reserve.user == bob and reserve.staff == staff
    assert ledger.balance(alpha) == D("6.00")


def test_a_retry_still_respects_the_members_monthly_limit(admin_client, alpha, bob):
    ledger.grant(alpha, 100)
    failed = submit(alpha, bob)
    failed.fail("internal_error")
    Membership.objects.filter(user=bob).update(monthly_limit=D("1.00"))
    html = act(admin_client, "generations/job", "retry_failed", [failed])
    assert f"Not retried: {failed.public_id}: This needs 2.00 credits" in html
    assert not Job.objects.filter(retry_of=failed).exists()


def test_staff_cancel_queued_and_running_jobs_and_the_releases_name_them(
    admin_client, staff, alpha, alice
):
    ledger.grant(alpha, 10)
    queued, running, done = submit(alpha, alice), submit(alpha, alice), submit(alpha, alice)
    assert running.claim(timezone.now())  # a worker has it; the local renderer can stop it
    runner.run_job(done.pk)
    html = act(admin_client, "generations/job", "cancel_active", [queued, running, done])
    assert "Cancelled 2 job(s)." in html
    assert {j.status for j in Job.objects.filter(pk__in=[queued.pk, running.pk])} == {"cancelled"}
    releases = LedgerEntry.objects.filter(kind="release", job__in=[queued, running])
    assert releases.count() == 2 and all(entry.staff == staff for entry in releases)
    assert ledger.balance(alpha) == D("8.00")  # only the completed job was spent


def test_a_grant_from_the_admin_names_the_staff_member(admin_client, staff, alpha):
    pack = Pack.objects.create(name="Team 200", credits=D("200"))
    r = admin_client.get(f"/admin/credits/pack/grant/?workspace={alpha.pk}")
    assert f'<option value="{alpha.pk}" selected>' in r.content.decode()
    admin_client.post("/admin/credits/pack/grant/", {"workspace": alpha.pk, "pack": pack.pk})
    entry = LedgerEntry.objects.get(workspace=alpha, kind="grant")
    assert entry.staff == staff and entry.amount == D("200.00")
    assert entry.staff.username in admin_client.get("/admin/credits/ledgerentry/").content.decode()


# ---- codes ----------------------------------------------------------------------------------


def test_a_batch_of_codes_downloads_as_csv(admin_client, alpha, alice):
    pack = Pack.objects.create(name="=HYPERLINK(evil)", credits=D("100"))
    r = admin_client.post(
        "/admin/credits/pack/codes/", {"pack": pack.pk, "count": 3, "batch": "spring fair"}
    )
    assert 'href="/admin/credits/pack/codes.csv?batch=spring%20fair"' in r.content.decode()
    RedemptionCode.objects.create(pack=pack, batch="another")
    first = RedemptionCode.objects.filter(batch="spring fair").first()
    ledger.redeem(first.code, alpha, alice)
    r = admin_client.get("/admin/credits/pack/codes.csv?batch=spring%20fair")
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="redemption-codes-spring-fair.csv"' in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert len(rows) == 3 and {row["batch"] for row in rows} == {"spring fair"}
    assert {row["code"] for row in rows} == set(
        RedemptionCode.objects.filter(batch="spring fair").values_list("code", flat=True)
    )
    assert all(row["pack"] == "'=HYPERLINK(evil)" for row in rows)  # never a formula
    used = next(row for row in rows if row["code"] == first.code)
    assert used["redeemed_by"] == "alice" and used["redeemed_at"]
    # The same from the codes list, for any selection.
    r = admin_client.post(
        "/admin/credits/redemptioncode/",
        {"action": "export_csv", "_selected_action": [first.pk]},
    )
    assert [row["code"] for row in csv.DictReader(io.StringIO(r.content.decode()))] == [first.code]


# ---- keys and people ------------------------------------------------------------------------


def api_status(client, raw: str) -> int:
    return client.get("/v1/tasks", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code


def test_staff_revoke_a_key_and_it_stops_at_once(admin_client, client, alpha, alice):
    key, raw = ApiKey.create(user=alice, workspace=alpha, name="ci")
    assert api_status(client, raw) == 200
    assert "Revoked 1 key(s)." in act(admin_client, "accounts/apikey", "revoke", [key])
    client.logout()
    assert api_status(client, raw) == 401


def test_deactivating_a_user_signs_them_out_and_revokes_their_keys_at_once(
    admin_client, alpha, alice, bob
):
    from django.test import Client

    _, raw = ApiKey.create(user=bob, workspace=alpha, name="script")
    _, alices = ApiKey.create(user=alice, workspace=alpha, name="hers")
    browser, elsewhere, hers = Client(), Client(), Client()
    for c, user in ((browser, "bob"), (elsewhere, "bob"), (hers, "alice")):
        assert c.login(username=user, password=PASSWORD)
    assert browser.get("/").status_code == 200

    html = act(admin_client, "auth/user", "deactivate", [bob])
    assert "Deactivated 1 user(s): signed out, 1 key(s) revoked." in html
    assert browser.get("/")["Location"].startswith("/accounts/login/")
    assert elsewhere.get("/")["Location"].startswith("/accounts/login/")
    assert api_status(Client(), raw) == 401
    assert not browser.login(username="bob", password=PASSWORD)
    bobs = [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id")]
    assert all(s.get_decoded()["_auth_user_id"] != str(bob.pk) for s in bobs)
    # Nobody else is touched.
    assert hers.get("/").status_code == 200 and api_status(Client(), alices) == 200


def test_unticking_active_on_a_users_page_does_the_same(admin_client, alpha, bob):
    from django.test import Client

    key, raw = ApiKey.create(user=bob, workspace=alpha, name="script")
    theirs = Client()
    theirs.force_login(bob)
    page = admin_client.get(f"/admin/auth/user/{bob.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("is_active", "password")
    }
    data.update(date_joined_0="2024-01-01", date_joined_1="00:00:00", groups=[])
    data.update(user_permissions=[], last_login_0="", last_login_1="")
    r = admin_client.post(f"/admin/auth/user/{bob.pk}/change/", data, follow=True)
    assert r.status_code == 200, r.context["adminform"].form.errors
    assert "is signed out everywhere; 1 key(s) revoked." in r.content.decode()
    assert not get_user_model().objects.get(pk=bob.pk).is_active
    assert theirs.get("/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    # Letting them back in doesn't bring the old key back.
    get_user_model().objects.filter(pk=bob.pk).update(is_active=True)
    assert api_status(Client(), raw) == 401


def test_staff_cant_deactivate_themselves(admin_client, staff):
    html = act(admin_client, "auth/user", "deactivate", [staff])
    assert "You can&#x27;t deactivate yourself" in html
    assert get_user_model().objects.get(pk=staff.pk).is_active


# ---- what stays read-only -------------------------------------------------------------------


def test_money_and_secrets_are_read_only_in_the_admin(admin_client, alpha, alice):
    ledger.grant(alpha, 10)
    job = submit(alpha, alice)
    runner.run_job(job.pk)
    key, _ = ApiKey.create(user=alice, workspace=alpha, name="ci")
    code = RedemptionCode.objects.create(pack=Pack.objects.create(name="P", credits=D("5")))
    entry = LedgerEntry.objects.filter(job=job).first()

    job_page = admin_client.get(f"/admin/generations/job/{job.pk}/change/").content.decode()
    for field in ("credits_quoted", "quote", "status", "request_id"):
        assert f'name="{field}"' not in job_page, field
    key_page = admin_client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert 'name="hashed"' not in key_page and key.hashed not in key_page
    assert 'name="revoked_at' not in key_page  # revoking is the action; nobody un-revokes
    code_page = admin_client.get(
        f"/admin/credits/redemptioncode/{code.pk}/change/"
    ).content.decode()
    assert 'name="pack"' not in code_page and 'name="code"' not in code_page
    for path in (
        f"/admin/credits/ledgerentry/{entry.pk}/change/",
        f"/admin/credits/reservation/{job.reservation.pk}/change/",
        f"/admin/credits/settlement/{job.reservation.settlement.pk}/change/",
    ):
        page = admin_client.get(path).content.decode()
        assert 'type="submit"' not in page.split('id="content-main"')[1], path
        r = admin_client.post(path, {"amount": "999"})
        assert r.status_code == 403, path
    assert admin_client.get("/admin/credits/settlement/add/").status_code == 403
    body = json.dumps({"amount": "999"})
    assert admin_client.post(
        f"/admin/credits/ledgerentry/{entry.pk}/delete/", body, content_type="x"
    ).status_code in (403, 405)
    entry.refresh_from_db()
    assert entry.amount == D("2.00")
