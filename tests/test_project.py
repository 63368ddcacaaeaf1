from __future__ import annotations

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from studio import settings as studio_settings
from studio.accounts.models import Membership, Workspace
from studio.lib import env


def test_unknown_urls_render_the_styled_404(client, db):
    r = client.get("/no/such/page/")
    assert r.status_code == 404
    assert b"We can't find that page" in r.content


def test_healthz_answers_ok_when_the_database_the_cache_and_a_worker_are_fine(client, db):
    from studio.ops import heartbeat

    heartbeat.beat()
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.content == b"ok\n"


def test_migrations_match_the_models(db):
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_system_checks_pass():
    call_command("check", "--fail-level", "WARNING")


def test_seed_demo_is_idempotent(db, monkeypatch, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    workspace = Workspace.objects.get(name="Demo studio")
    roles = dict(
        Membership.objects.filter(workspace=workspace).values_list("user__username", "role")
    )
    assert roles == {"demo": "owner", "admin": "admin"}
    assert "demo   / demo-pass-123" in out.getvalue()


def test_seed_demo_generates_and_keeps_a_password(db, monkeypatch, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    first, second = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)
    password = (tmp_path / "demo_password").read_text()
    assert f"demo   / {password}" in first.getvalue()
    assert f"demo   / {password}" in second.getvalue()


@pytest.mark.parametrize(
    ("helper", "name", "value"),
    [
        (env.envbool, "X_BOOL", "maybe"),
        (env.envint, "X_INT", "ten"),
        (env.envfloat, "X_FLOAT", "fast"),
    ],
)
def test_settings_helpers_refuse_bad_values(monkeypatch, helper, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured):
        helper(name, 0) if helper is not env.envbool else helper(name, False)


def test_database_url_parses_sqlite_and_postgres():
    sqlite = studio_settings.database_from_url("sqlite:///var/x.sqlite3")
    assert sqlite["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert str(sqlite["NAME"]).endswith("var/x.sqlite3")
    assert sqlite["TEST"]["NAME"].endswith("var/x_test.sqlite3")  # a file workers can open
    pg = studio_settings.database_from_url("postgres://u:p%40ss@db.example:5433/studio")
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], str(pg["PORT"]), pg["NAME"]) == (
        "u",
        "p@ss",
        "db.example",
        "5433",
        "studio",
    )
    assert (pg["CONN_MAX_AGE"], pg["CONN_HEALTH_CHECKS"]) == (60, True)
    assert pg["OPTIONS"] == {"connect_timeout": 5}
    tls = studio_settings.database_from_url("postgres://db.example/studio?sslmode=require")
    assert tls["OPTIONS"] == {"sslmode": "require", "connect_timeout": 5}
    for refused in ("mysql://x/y", "postgres://db.example/", "sqlite://", "nonsense"):
        with pytest.raises(ImproperlyConfigured):
            studio_settings.database_from_url(refused)


def test_healthz_answers_on_a_host_not_in_allowed_hosts(client, db, settings):
    from studio.ops import heartbeat

    heartbeat.beat()
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_staff_see_jobs_assets_and_keys_in_the_admin_but_never_a_hash(client, alice, alpha):
    from django.contrib.auth import get_user_model

    from studio.accounts.models import ApiKey
    from studio.credits import ledger
    from studio.generations import runner

    ledger.grant(alpha, 10)
    job = runner.submit(
        workspace=alpha, user=alice, kind="generate", request={"model": "nano-banana"}, prompt="x"
    )
    runner.run_job(job.pk)
    key, _ = ApiKey.create(user=alice, workspace=alpha, name="ci")
    staff = get_user_model().objects.create_superuser("root", password="a-long-pass-1")
    client.force_login(staff)
    assert job.public_id in client.get("/admin/generations/job/?status=completed").content.decode()
    assert client.get("/admin/generations/asset/").status_code == 200
    page = client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in page and key.hashed not in page
    assert key.hashed not in client.get("/admin/accounts/apikey/").content.decode()
    for path in (
        "/admin/credits/pack/grant/",
        "/admin/credits/pack/codes/",
        "/admin/credits/ledgerentry/",
        "/admin/credits/grant/",
    ):
        assert client.get(path).status_code == 200, path


def test_staff_grant_packs_and_generate_codes_in_the_admin(client, alpha):
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from studio.credits import ledger
    from studio.credits.models import Pack, RedemptionCode

    pack = Pack.objects.create(name="Studio 1000", credits=Decimal("1000"), price_label="$10")
    staff = get_user_model().objects.create_superuser("root", password="a-long-pass-1")
    client.force_login(staff)
    r = client.post(
        "/admin/credits/pack/grant/", {"workspace": alpha.pk, "pack": pack.pk}, follow=True
    )
    assert b"Granted" in r.content
    assert ledger.balance(alpha) == Decimal("1000.00")
    r = client.post("/admin/credits/pack/codes/", {"pack": pack.pk, "count": 5, "batch": "launch"})
    codes = RedemptionCode.objects.filter(batch="launch")
    assert codes.count() == 5
    assert all(c.code in r.content.decode() for c in codes)
