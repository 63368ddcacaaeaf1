"""Fuzz the /v1 API from its own OpenAPI document (schemathesis): no input may cause a 500,
and every response must match the document."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio.accounts.models import ApiKey
from studio.credits import ledger

pytestmark = pytest.mark.slow
CLI = Path(sys.executable).with_name("st")


@pytest.mark.skipif(not CLI.exists() and not shutil.which("st"), reason="schemathesis missing")
def test_fuzzing_the_api_finds_no_server_error(live_server, alpha, alice, settings, tmp_path):
    settings.API_RATE_BURST = 100_000  # the fuzzer is one busy client
    # A few credits: enough that some generations run, few enough that most are refused
    # quickly (a fuzzer asking for ten 4K images at a time would otherwise take minutes).
    ledger.grant(alpha, 40)
    _, key = ApiKey.create(user=alice, workspace=alpha, name="fuzz")
    result = subprocess.run(
        [
            str(CLI),
            "run",
            f"{live_server.url}/v1/openapi.json",
            "--url",
            live_server.url,
            "-H",
            f"Authorization: Bearer {key}",
            "--checks",
            "not_a_server_error,response_schema_conformance,"
            "content_type_conformance,response_headers_conformance",
            "--max-examples",
            os.environ.get("FUZZ_EXAMPLES", "25"),
            "--seed",
            "20261121",
            "--generation-deterministic",
            "--request-timeout",
            "60",
            "--workers",
            "1",
            "--phases",
            "examples,fuzzing",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    generated, passed = re.search(r"(\d+) generated, (\d+) passed", result.stdout).groups()
    assert int(generated) > 100 and generated == passed, report
