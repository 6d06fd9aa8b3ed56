"""Clientless options a user's file sets: the values refused at load, and what the accepted ones bound."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from mockserver.apis import clientless_flow
from tests.apis.test_clientless import JSON_ACCEPT, P, override
from tests.apis.test_clientless_flow import PRODUCTION, STAGING, Device

# ---- values refused at load -------------------------------------------------------------------
BAD = [
    # 0 spun the server at 100% CPU on the first reg code (its only code, "", always taken); 1 after 36 codes
    ("regcode_length: 0", "options.regcode_length", "0 is not a reg code's length: 4 to 32 characters (the pages' "
     "codes have 7)"),
    ("regcode_length: 1", "options.regcode_length", "1 is not a reg code's length: 4 to 32 characters (the pages' "
     "codes have 7)"),
    ("regcode_length: 33", "options.regcode_length", "33 is not a reg code's length: 4 to 32 characters (the pages' "
     "codes have 7)"),
    ("regcode_length: 1000000000000000000000000000000", "options.regcode_length",  # an OverflowError 500
     "1000000000000000000000000000000 is not a reg code's length: 4 to 32 characters (the pages' codes have 7)"),
    # each was production, silently: a test meant for staging's codes, keys and accounts ran on production's
    ("environment: stage", "options.environment", "'stage' is not an environment (one of: production, staging; a "
     "Host that is neither real host stands for it)"),
    ("environment: ''", "options.environment", "'' is not an environment (one of: production, staging; a Host that "
     "is neither real host stands for it)"),
    ("regcode_ttl_s: 1.5", "options.regcode_ttl_s",  # codes lived 1 s: read as int(), as the `ttl` parameter is
     "1.5 where the option takes an integer (a number without a decimal point)"),
    # the account could sign in on no Host: "Check if the login is for production or staging", on both
    ("users:\n    - {username: u, password: p, environment: nowhere}", "options.users[0].environment",
     "'nowhere' is not an account's environment (one of: any, production, staging): no Host could sign it in"),
    # each turned the requestor's signature check off, without a word
    ("requestor_secrets: {R: null}", "options.requestor_secrets.R", "null is not a secret: the requestor's "
     "HMAC-SHA1 secret is non-empty text (quote a number); leave the requestor out to take its signatures unchecked"),
    ("requestor_secrets: {R: ''}", "options.requestor_secrets.R", "'' is not a secret: the requestor's HMAC-SHA1 "
     "secret is non-empty text (quote a number); leave the requestor out to take its signatures unchecked"),
    ("requestor_secrets: {R: [s]}", "options.requestor_secrets.R", "['s'] is not a secret: the requestor's "
     "HMAC-SHA1 secret is non-empty text (quote a number); leave the requestor out to take its signatures unchecked"),
    # lives past ten years: `expires` of 34 digits, no client's epoch-millisecond time
    ("authn_ttl_s: 1000000000000000000000000000000", "options.authn_ttl_s", "1000000000000000000000000000000 seconds "
     "is more than ten years (315360000): an expiry would be no 13-digit epoch-millisecond time"),
    ("media_token_ttl_s: 1.0e+30", "options.media_token_ttl_s", "1e+30 seconds is more than ten years (315360000): "
     "an expiry would be no 13-digit epoch-millisecond time"),
    ("max_regcode_ttl_s: 315360001", "options.max_regcode_ttl_s", "315360001 seconds is more than ten years "
     "(315360000): an expiry would be no 13-digit epoch-millisecond time"),
]


def _write(tmp_path: Path, option: str) -> Path:
    path = tmp_path / "clientless-options.yaml"
    path.write_text(f"api: clientless\noptions:\n  {option}\n")
    return path


@pytest.mark.parametrize(("option", "field", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_wrong_option_value_is_refused_at_reload_with_its_line(make_client: Callable[..., TestClient],
                                                                 tmp_path: Path, option: str, field: str,
                                                                 message: str) -> None:
    """Each passed validate, then hung the server, answered 500, or silently did something else."""
    client = make_client(scenarios=(str(tmp_path),))
    path = _write(tmp_path, option)
    answer = client.post("/__admin/reload")
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == [f"{path}:{3 + option.count(chr(10))}: {field}: {message}"]
    assert client.get(f"{P}/api/v1/config/R.json").status_code == 200  # the old scenarios still served


GOOD = ["regcode_length: 4", "regcode_length: 32", "environment: staging", "environment: Production",
        "environment: null", "regcode_ttl_s: 2", "requestor_secrets: {R: s3cret, '12345': x}",
        "users: [{username: u, password: p, environment: Staging}, {username: v, password: p, environment: null}]",
        "authn_ttl_s: 315360000", "authz_ttl_s: 0.5", "dcr_token_ttl_s: 0"]


@pytest.mark.parametrize("option", GOOD)
def test_good_option_values_load(make_client: Callable[..., TestClient], tmp_path: Path, option: str) -> None:
    client = make_client(scenarios=(str(tmp_path),))
    _write(tmp_path, option)
    assert client.post("/__admin/reload").json()["loaded"] is True
    created = client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"}, headers=JSON_ACCEPT)
    assert created.status_code == 201, created.text


WRONG = {"regcode_length": 0, "environment": "stage", "regcode_ttl_s": 2.5, "requestor_secrets": {"R": None},
         "users": [{"username": "u", "password": "p", "environment": "nowhere"}], "authn_ttl_s": 10**30,
         "media_token_ttl_s": 1e30, "max_regcode_ttl_s": 315360001}  # one wrong value of each option BAD names


def test_validate_exits_1_naming_every_wrong_option(tmp_path: Path) -> None:
    path = tmp_path / "clientless.yaml"
    path.write_text(yaml.safe_dump({"api": "clientless", "options": WRONG}))
    run = subprocess.run([sys.executable, "-m", "mockserver", "validate", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    fields = [line.split(": ", 2)[1] for line in run.stdout.splitlines() + run.stderr.splitlines()
              if line.startswith(str(path))]
    assert sorted(fields) == sorted({field for _, field, _ in BAD})
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.parametrize("seconds", [2, 315360000])
def test_a_reg_code_lives_regcode_ttl_s(make_client: Callable[..., TestClient], tmp_path: Path, seconds: int) -> None:
    """To the longest life: its `expires` is still 13 digits of epoch milliseconds."""
    client = make_client(scenarios=override(tmp_path, regcode_ttl_s=seconds))
    record = client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"}, headers=JSON_ACCEPT).json()
    assert record["expires"] - record["generated"] == seconds * 1000
    assert len(str(record["expires"])) == 13


@pytest.mark.parametrize("host", [PRODUCTION, STAGING])
def test_an_account_whose_environment_is_null_signs_in_anywhere(make_client: Callable[..., TestClient],
                                                                tmp_path: Path, host: dict[str, str]) -> None:
    """null was read as the environment "None": the account was refused on both Hosts."""
    client = make_client(scenarios=override(tmp_path, throttle_enabled=False, users=[
        {"username": "u", "password": "p", "environment": None}]))
    device = Device(client, host=host)
    code = device.regcode()
    assert device.saml(code, username="u", password="p").status_code == 302
    assert device.get(f"/api/v1/checkauthn/{code}").status_code == 200


# ---- the reg code's draws are bounded ---------------------------------------------------------
def _taken_up_to(length: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every code of `length` characters or fewer is taken, as in a session that made them all; the codes asked."""
    asked: list[str] = []
    real = clientless_flow.load

    async def load(ctx: Any, kind: str, *parts: str, **kwargs: Any) -> Any:
        if kind != "regcode":
            return await real(ctx, kind, *parts, **kwargs)
        asked.append(parts[-1])
        assert len(asked) <= 1000, "the draws never end"  # before the bound: a request that never finished
        return {"taken": True} if len(parts[-1]) <= length else None

    monkeypatch.setattr(clientless_flow, "load", load)
    return asked


def test_a_session_that_used_every_code_of_the_length_gets_a_longer_one(make_client: Callable[..., TestClient],
                                                                        tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`regcode_length: 1` spun the server at 100% CPU (deaf to SIGTERM) once its 36 codes were made: after 16
    draws in a row meet taken codes, the code is one character longer."""
    client = make_client(scenarios=override(tmp_path, throttle_enabled=False))
    asked = _taken_up_to(7, monkeypatch)
    created = client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"}, headers=JSON_ACCEPT)
    assert created.status_code == 201, created.text
    assert len(created.json()["code"]) == 8
    assert [len(code) for code in asked] == [7] * 16 + [8]
    assert client.get(f"{P}/reggie/v1/R/regcode/{created.json()['code']}", headers=JSON_ACCEPT).status_code == 200


def test_the_draws_end_even_when_no_code_is_free(make_client: Callable[..., TestClient], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A state no session reaches (36**10 codes taken), but the loop may not spin on it: the route's documented
    500 after 16 draws at each of 4 lengths."""
    client = make_client(scenarios=override(tmp_path, throttle_enabled=False))
    asked = _taken_up_to(100, monkeypatch)
    answer = client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"}, headers=JSON_ACCEPT)
    assert answer.status_code == 500
    assert answer.json() == {"status": 500, "message": "Internal Server Error"}
    assert [len(code) for code in asked] == [7] * 16 + [8] * 16 + [9] * 16 + [10] * 16
