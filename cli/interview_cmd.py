"""``edgehr interview``: score answers against a rubric, check question banks."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    interview = commands.add_parser("interview", help="structured-interview scoring and question banks")
    sub = interview.add_subparsers(dest="interview_command", metavar="WHAT", required=True)
    score = sub.add_parser(
        "score",
        help="score answers: JSON lines {id, question, reference_answer, answer, lang} (rubric fields optional)",
    )
    score.add_argument("file", help="JSON lines file, or - for standard input")
    score.add_argument("--json", action="store_true", help="one JSON object per answer (default: a short table)")
    score.set_defaults(handler="cli.interview:score_file")
    bank = sub.add_parser("bank", help="question banks")
    bank_sub = bank.add_subparsers(dest="bank_command", metavar="WHAT", required=True)
    check = bank_sub.add_parser("check", help="validate a question bank TOML file (file:line errors)")
    check.add_argument("files", nargs="*", help="bank files (default: the banks shipped with edgehr)")
    check.set_defaults(handler="cli.interview:bank_check")
