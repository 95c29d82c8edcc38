"""``flake8-rqjobs rules`` (code and summary of every rule) and ``flake8-rqjobs explain CODE``
(one rule's documentation, in ruff's format, with its message and its ``## Fix`` section)."""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from flake8_rqjobs.rules import ALL_RULES, RULES, Rule


def rule_table() -> str:
    """A Markdown table of the rules (the README's rule table)."""
    rows = ["| Code | What it flags |", "|---|---|"]
    rows += [f"| `{rule.code}` | {rule.summary} |" for rule in ALL_RULES]
    return "\n".join(rows)


def fix_section(rule: Rule) -> str:
    """The ``## Fix`` section: what ``flake8-rqjobs fix`` does, and when it declines."""
    return (
        f"## Fix\n{rule.fix_availability.value} `flake8-rqjobs fix`: {rule.fix}.\n\n"
        f"{rule.fix_safety.rstrip()}\n"
    )


def explain(rule: Rule) -> str:
    message = rule.format(wrapper="rqjobs", **rule.sample)
    return (
        f"# {rule.code}: {rule.summary}\n\nMessage: {message}\n\n{rule.doc.rstrip()}\n\n"
        f"{fix_section(rule)}"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("rules", "explain"):
        print("usage: flake8-rqjobs rules | flake8-rqjobs explain CODE", file=sys.stderr)
        return 2
    if args[0] == "rules":
        width = max(len(rule.code) for rule in ALL_RULES)
        for rule in ALL_RULES:
            print(f"{rule.code:<{width}}  {rule.summary}")
        return 0
    if len(args) != 2:
        print("usage: flake8-rqjobs explain CODE (for example RQJ001)", file=sys.stderr)
        return 2
    code = args[1].strip().upper()
    found = RULES.get(code)
    if found is None:
        known = ", ".join(RULES)
        print(f"flake8-rqjobs: unknown rule {args[1]!r} (known: {known})", file=sys.stderr)
        return 2
    print(explain(found), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
