"""What goes wrong with a policy document: `Problem` (one finding, with its line and clause) and
`PolicyError` (the document is invalid: every problem at once).

Errors of evaluation (`EvaluationError`, `FactError`) live with the facts they are about, in
facts.py. Pure: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

from refunddesk.core.errors import ValidationError

__all__ = ["PolicyError", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a document: an error (in `PolicyError.problems`) or advice (in
    `Policy.warnings`). `line` is 1-based in the YAML text, None when the whole document is
    meant; `clause` the clause id (or "default"), None for the document's own keys."""

    line: int | None
    clause: str | None
    message: str

    def render(self, source: str) -> str:
        """"FILE:LINE: clause 'ID': message", the way `refunddesk policy check` prints it."""
        where = f"{source}:{self.line}" if self.line else source
        who = f"clause '{self.clause}': " if self.clause else ""
        return f"{where}: {who}{self.message}"


class PolicyError(ValidationError):
    """The policy document is invalid. Every problem names the clause (when there is one) and
    the YAML line; `str(error)` is one problem per line, ready to print."""

    code = "policy_invalid"

    def __init__(self, problems: list[Problem], source: str):
        self.problems = tuple(problems)
        self.source = source
        first = self.problems[0] if self.problems else Problem(None, None, "invalid policy")
        self.clause = first.clause
        self.line = first.line
        super().__init__(
            "\n".join(p.render(source) for p in self.problems),
            clause=first.clause or "",
            line=first.line or 0,
        )
