"""`refunddesk policy check|test|evaluate|explain`: output, JSON and exit codes."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.policies.helpers import POLICY_DIR, REPO, facts

VPN = str(POLICY_DIR / "subscription-vpn.yaml")
STANDARD = str(POLICY_DIR / "standard-14-day.yaml")


def version_of(path: str) -> int:
    """The shipped document's own version (it goes up whenever its decisions change)."""
    from refunddesk.policies.engine import load_policy

    return load_policy(path).version
CONSOLE = Path(sys.executable).with_name("refunddesk")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("policy", *args, stdout=out)
    return out.getvalue()


def console(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    return subprocess.run(
        [str(CONSOLE), "policy", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


@pytest.fixture
def broken_policy(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(
        (POLICY_DIR / "standard-14-day.yaml")
        .read_text(encoding="utf-8")
        .replace("condition: customer.tos_violation", "condition: customer.tos_violations"),
        encoding="utf-8",
    )
    return path


# --- check -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [VPN, STANDARD])
def test_check_accepts_the_shipped_policies(path):
    assert run("check", path).startswith(f"OK: {path}: ")


def test_check_refuses_with_clause_and_line(broken_policy: Path):
    with pytest.raises(CommandError) as err:
        run("check", str(broken_policy))
    message = str(err.value)
    line = next(
        n
        for n, text in enumerate(broken_policy.read_text(encoding="utf-8").splitlines(), 1)
        if "tos_violations" in text
    )
    assert f"broken.yaml:{line}: clause 'terms-violation': condition: undeclared reference" in message


def test_check_exit_code_from_the_console_script(broken_policy: Path):
    good = console("check", "policies/subscription-vpn.yaml")
    assert good.returncode == 0 and good.stdout.startswith("OK: policies/subscription-vpn.yaml")
    bad = console("check", str(broken_policy))
    assert bad.returncode != 0 and "clause 'terms-violation'" in bad.stderr


def test_check_a_missing_file():
    with pytest.raises(CommandError, match="cannot read"):
        run("check", "policies/no-such-policy.yaml")


# --- test ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [VPN, STANDARD])
def test_test_runs_the_cases_beside_the_policy(path):
    output = run("test", path)
    lines = output.strip().splitlines()
    assert all(line.startswith("PASS  ") for line in lines[:-1])
    assert lines[-1].startswith("OK: ") and "cases passed" in lines[-1]


def test_test_fails_on_a_failing_case_and_on_an_unreached_clause(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    shutil.copy(STANDARD, policy)
    cases = (POLICY_DIR / "standard-14-day.cases.yaml").read_text(encoding="utf-8")
    (tmp_path / "p.cases.yaml").write_text(
        cases.replace('amount: "59.00"', 'amount: "60.00"'),
        encoding="utf-8",
    )
    out = io.StringIO()
    with pytest.raises(CommandError) as err:
        call_command("policy", "test", str(policy), stdout=out)
    assert "FAIL  duplicate-charge-after-a-partial-refund-refunds-the-rest-and-says-so" in out.getvalue()
    assert "expected amount 60.00, got 59.00" in out.getvalue()
    assert "FAILED" in str(err.value)

    short = tmp_path / "short.cases.yaml"
    short.write_text(cases.split("  # --- usage")[0], encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("policy", "test", str(policy), "--cases", str(short), stdout=out)
    assert "FAIL  clause 'partial-usage' is not reached by any case" in out.getvalue()


def test_test_exit_code_from_the_console_script(tmp_path: Path):
    assert console("test", "policies/standard-14-day.yaml").returncode == 0
    policy = tmp_path / "p.yaml"
    shutil.copy(STANDARD, policy)
    result = console("test", str(policy))  # no cases file beside it
    assert result.returncode != 0 and "cannot read the cases file" in result.stderr


# --- evaluate --------------------------------------------------------------------------------------


def test_evaluate_prints_one_json_decision(tmp_path: Path):
    context = tmp_path / "facts.json"
    context.write_text(
        json.dumps(
            facts(request__reason="service_outage", outage__longest_hours=72.5, order__refunded="5.00")
        ),
        encoding="utf-8",
    )
    data = json.loads(run("evaluate", VPN, "--context", str(context)))
    assert list(data) == ["policy", "outcome", "clause", "refund", "explanation", "trace"]
    assert data["policy"] == {"id": "subscription-vpn", "version": str(version_of(VPN))}  # a string, as in the API
    assert data["outcome"] == "approve" and data["clause"] == "major-outage"
    # prorated on what is still refundable: (30.00 - 5.00) x (30 - 3) / 30
    assert data["refund"] == {"amount": "22.50", "currency": "CNY"}
    assert set(data["explanation"]) == {"en", "zh"} and "72.5" in data["explanation"]["zh"]
    assert "(CN¥30.00 paid − CN¥5.00 already refunded) × (30 days in the period − 3 days used)" in (
        data["explanation"]["en"]
    )
    assert [step["matched"] for step in data["trace"]] == [False] * 8 + [True]
    assert data["trace"][-1]["notes"] == [
        "amount prorate_unused(order.amount - order.refunded, usage.days_used, plan.period_days) = 22.50 CNY"
    ]


def test_evaluate_reads_stdin_from_the_console_script():
    result = console("evaluate", "policies/standard-14-day.yaml", "--context", "-", stdin=json.dumps(facts()))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["outcome"] == "review" and data["clause"] == "default" and data["refund"] is None


def test_evaluate_names_a_missing_fact(tmp_path: Path):
    data = facts()
    del data["charge"]
    context = tmp_path / "facts.json"
    context.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CommandError) as err:
        run("evaluate", VPN, "--context", str(context))
    assert "'charge.duplicate'" in str(err.value) and "'charge.erroneous'" in str(err.value)


@pytest.mark.parametrize(("content", "words"), [("not json", "not JSON"), ("[1, 2]", "JSON object")])
def test_evaluate_refuses_bad_context(tmp_path: Path, content, words):
    context = tmp_path / "facts.json"
    context.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=words):
        run("evaluate", VPN, "--context", str(context))


# --- explain ---------------------------------------------------------------------------------------


def test_explain_in_both_languages():
    english = run("explain", VPN, "--lang", "en")
    chinese = run("explain", VPN, "--lang", "zh-Hans")
    assert english.startswith(f"Subscription VPN refund policy (subscription-vpn, version {version_of(VPN)})")
    assert "18. charge-claim-unverified" in english and "Otherwise (no clause applies)" in english
    assert chinese.startswith("订阅制网络加速服务退款政策") and "其他情况" in chinese
    assert "‹购买以来用户所在区域最长的连续中断时长（小时）›" in chinese


# --- publish -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_publish_stores_a_version_in_force_from_the_date_given():
    from refunddesk.policies.models import PolicyVersion

    out = run("publish", STANDARD, "--effective", "2026-12-01T00:00", "--note", "first")
    assert out.startswith(
        f"published standard-14-day version {version_of(STANDARD)}, in force from 2026-12-01T00:00+08:00"
    )
    version = PolicyVersion.objects.get(policy_id="standard-14-day")
    assert version.change_note == "first" and not version.major_change


@pytest.mark.django_db
def test_publishing_the_same_version_twice_is_refused_and_changes_nothing():
    from refunddesk.policies.models import PolicyVersion

    run("publish", STANDARD)
    with pytest.raises(CommandError, match="already published; published versions never change"):
        run("publish", STANDARD, "--major")
    assert PolicyVersion.objects.filter(policy_id="standard-14-day").count() == 1


@pytest.mark.django_db
def test_a_policy_whose_cases_fail_is_not_published_and_the_failures_are_listed(tmp_path):
    from refunddesk.policies.models import PolicyVersion

    policy = tmp_path / "std.yaml"
    policy.write_text(Path(STANDARD).read_text(encoding="utf-8").replace("> days(14)", "> days(10)"),
                      encoding="utf-8")
    shutil.copy(Path(STANDARD).with_name("standard-14-day.cases.yaml"), tmp_path / "std.cases.yaml")
    with pytest.raises(CommandError) as caught:
        run("publish", str(policy))
    assert "test cases do not pass" in str(caught.value)
    assert "FAIL" in str(caught.value)
    assert not PolicyVersion.objects.exists()


@pytest.mark.django_db
def test_publish_refuses_a_date_it_cannot_read():
    with pytest.raises(CommandError, match="not an ISO 8601 date"):
        run("publish", STANDARD, "--effective", "next monday")
