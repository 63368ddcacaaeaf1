from __future__ import annotations

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from studio import settings as studio_settings
from studio.accounts.models import Membership, Workspace


def test_unknown_urls_render_the_styled_404(client, db):
    r = client.get("/no/such/page/")
    assert r.status_code == 404
    assert b"We can't find that page" in r.content


def test_healthz_checks_the_database(client, db):
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
        (studio_settings.envbool, "X_BOOL", "maybe"),
        (studio_settings.envint, "X_INT", "ten"),
        (studio_settings.envfloat, "X_FLOAT", "fast"),
    ],
)
def test_settings_helpers_refuse_bad_values(monkeypatch, helper, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured):
        helper(name, 0) if helper is not studio_settings.envbool else helper(name, False)


def test_database_url_parses_sqlite_and_postgres():
    sqlite = studio_settings.database_from_url("sqlite:///var/x.sqlite3")
    assert sqlite["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert str(sqlite["NAME"]).endswith("var/x.sqlite3")
    pg = studio_settings.database_from_url("postgres://u:p%40ss@db.example:5433/studio")
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "u",
        "p@ss",
        "db.example",
        "5433",
        "studio",
    )
    with pytest.raises(ImproperlyConfigured):
        studio_settings.database_from_url("mysql://x/y")


def test_healthz_answers_on_a_host_not_in_allowed_hosts(client, db, settings):
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400
