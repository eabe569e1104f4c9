"""refunddesk policy check|test|evaluate|explain|publish FILE - thin: parse, call the engine or the service, print.

refunddesk policy check policies/subscription-vpn.yaml
refunddesk policy test policies/subscription-vpn.yaml [--cases FILE]
refunddesk policy evaluate policies/subscription-vpn.yaml --context facts.json   (or - for stdin)
refunddesk policy explain policies/subscription-vpn.yaml --lang zh-Hans
refunddesk policy publish policies/subscription-vpn.yaml [--effective 2026-12-01T00:00+08:00] [--major] [--note TEXT]
refunddesk policy replay DRAFT.yaml [--since 2026-01-01] [--limit 20] [--json]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refunddesk.core.errors import ApplicationError
from refunddesk.policies import engine, explain, testing
from refunddesk.policies.outcome import effective_json


class Command(BaseCommand):
    help = "Check, test, evaluate and explain refund policy documents."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{check,test,evaluate,explain,publish,replay}")
        check = sub.add_parser("check", help="validate a policy document")
        check.add_argument("file")
        test = sub.add_parser("test", help="run the policy's test cases (<name>.cases.yaml beside it)")
        test.add_argument("file")
        test.add_argument("--cases", help="the cases file (default: <name>.cases.yaml beside the policy)")
        evaluate = sub.add_parser("evaluate", help="decide one request; prints the decision as JSON")
        evaluate.add_argument("file")
        evaluate.add_argument("--context", required=True, help="facts as a JSON file, or - for stdin")
        explain_ = sub.add_parser("explain", help="the policy in plain words, clause by clause")
        explain_.add_argument("file")
        explain_.add_argument("--lang", choices=["en", "zh-Hans"], default="en")
        publish = sub.add_parser("publish", help="publish the policy as a new version (only if it validates and "
                                                 "its test cases pass)")
        publish.add_argument("file")
        publish.add_argument("--cases", help="the cases file (default: <name>.cases.yaml beside the policy)")
        publish.add_argument("--effective", help="when it takes effect, ISO 8601 (default: now); a time without "
                                                 "an offset is in TIME_ZONE")
        publish.add_argument("--major", action="store_true",
                             help="a major change: every customer with an active order is emailed")
        publish.add_argument("--note", default="", help="what changed, shown beside the version")
        replay = sub.add_parser("replay", help="what-if: decide the past requests again under a draft, from the "
                                               "facts stored at their submission")
        replay.add_argument("file")
        replay.add_argument("--since", help="the requests submitted from this day on, YYYY-MM-DD (default: all)")
        replay.add_argument("--limit", type=int, default=20, help="requests listed per clause pair (default 20)")
        replay.add_argument("--json", action="store_true", help="print the summary as JSON (the API's shape)")

    def handle(self, *args, **options):
        try:
            getattr(self, "_" + options["action"])(options)
        except ApplicationError as exc:
            failures = exc.extra.get("failures") or []
            raise CommandError("\n".join([str(exc), *failures])) from None

    def _check(self, options):
        policy = engine.load_policy(options["file"])
        self.stdout.write(
            f"OK: {options['file']}: {policy.id} version {policy.version}, {len(policy.clauses)} clauses and a default; "
            f"reads {len(policy.facts)} facts: {', '.join(policy.facts)}"
        )
        self._warn(policy)

    def _test(self, options):
        policy = engine.load_policy(options["file"])
        cases_path = options["cases"] or testing.cases_path_for(options["file"])
        report = testing.run_cases(policy, testing.load_cases(cases_path))
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(report.summary())
        self._warn(policy)
        if not report.ok:
            raise CommandError(f"{options['file']}: {report.summary()}")

    def _warn(self, policy: engine.Policy) -> None:
        """Advice about a valid document (on stderr: it does not change the exit status)."""
        for problem in policy.warnings:
            self.stderr.write(f"warning: {problem.render(policy.source_name)}")

    def _evaluate(self, options):
        policy = engine.load_policy(options["file"])
        source = options["context"]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
            facts = json.loads(text)
        except OSError as exc:
            raise CommandError(f"cannot read the facts {source}: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"the facts in {source} are not JSON: {exc}") from None
        if not isinstance(facts, dict):
            raise CommandError(f"the facts in {source} must be a JSON object")
        decision = engine.evaluate(policy, facts)
        # the effective outcome: what a submission with these facts would do (policies/outcome.py)
        self.stdout.write(json.dumps(effective_json(decision.to_json(), facts), ensure_ascii=False, indent=2))

    def _publish(self, options):
        from refunddesk.policies.services import policy_publish

        cases_path = options["cases"] or testing.cases_path_for(options["file"])
        document, cases = _read(options["file"]), _read(cases_path)
        effective = None
        if options["effective"]:
            try:
                effective = dt.datetime.fromisoformat(options["effective"])
            except ValueError:
                raise CommandError(f"--effective {options['effective']!r} is not an ISO 8601 date and time, "
                                   "e.g. 2026-12-01T00:00+08:00") from None
            if timezone.is_naive(effective):
                effective = timezone.make_aware(effective)
        version = policy_publish(document=document, cases=cases, effective_at=effective,
                                 major_change=options["major"], change_note=options["note"])
        when = timezone.localtime(version.effective_at).isoformat(timespec="minutes")
        self.stdout.write(f"published {version.policy_id} version {version.version}, in force from {when}"
                          + ("; customers with an active order will be emailed" if version.major_change else ""))

    def _replay(self, options):
        from refunddesk.policies.services import replay_ask

        document = _read(options["file"])
        since = None
        if options["since"]:
            try:
                day = dt.date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(f"--since {options['since']!r} is not a date, e.g. 2026-01-01") from None
            if not 1970 <= day.year <= 2999:
                raise CommandError("--since must be a day between the years 1970 and 2999")
            since = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        summary = replay_ask(document=document, since=since, limit=max(0, options["limit"]))
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
            return
        for line in replay_lines(summary):
            self.stdout.write(line)

    def _explain(self, options):
        policy = engine.load_policy(options["file"])
        self.stdout.write(explain.explain(policy, options["lang"]), ending="")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None


def replay_lines(summary: dict) -> list[str]:
    """A replay summary (refunds.replay.ReplayResult.to_json) as lines of text for a terminal."""
    p = summary["policy"]
    since = (summary["since"] or "")[:10] or "the beginning"
    lines = [f"{p['id']} version {p['version']} (draft) over {summary['replayed']} requests submitted since {since}: "
             f"{summary['changed']} would change, {len(summary['unevaluable'])} cannot be evaluated.", "",
             f"{'outcome':<10}{'before':>10}{'after':>10}"]
    for outcome, before in summary["counts"]["before"].items():
        lines.append(f"{outcome:<10}{before:>10}{summary['counts']['after'][outcome]:>10}")
    if summary["money"]:
        lines += ["", f"{'currency':<10}{'approved before':>18}{'after':>18}{'difference':>18}"]
        lines += [f"{m['currency']:<10}{m['before']:>18}{m['after']:>18}{m['difference']:>18}" for m in summary["money"]]
    for group in summary["changes"]:
        lines += ["", f"{group['old_clause']} -> {group['new_clause']}: {group['count']} requests"]
        for r in group["requests"]:
            old = f"{r['old_outcome']} {r['old_amount'] or ''}".strip()
            new = f"{r['new_outcome']} {r['new_amount'] or ''}".strip()
            lines.append(f"  {r['request']}  {old} {r['currency'] if r['old_amount'] else ''} -> {new} "
                         f"{r['currency'] if r['new_amount'] else ''}  {r['url']}".rstrip())
        if group["count"] > len(group["requests"]):
            lines.append(f"  ... and {group['count'] - len(group['requests'])} more")
    if summary["unevaluable"]:
        lines += ["", "cannot be evaluated (a fact the draft reads is missing from the stored facts):"]
        lines += [f"  {u['request']}  {u['fact']}  {u['url']}" for u in summary["unevaluable"]]
    return lines
