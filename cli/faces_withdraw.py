"""``edgehr faces withdraw``: an employee withdrew their consent to face attendance.

Marks the consent withdrawn, deletes the employee's face templates and punch snapshots and tells the HR
server (one transaction, audited); enrolment is refused until consent is recorded again. No model is
loaded. A running terminal on the same state folder drops the person from its gallery within a second.
"""

from __future__ import annotations

import argparse
import re

from core.errors import InputError

EMPLOYEE_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ACTOR = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")


def run_withdraw(args: argparse.Namespace) -> int:
    from core.clock import SystemClock
    from device.attendance.enrolment import withdraw_consent
    from device.config import load_device_config
    from device.runner import state_paths
    from device.store import open_store

    if not EMPLOYEE_NO.match(args.employee):
        raise InputError(f"--employee {args.employee!r} is not an employee number.",
                         "Give the number as enrolled (letters, digits, . _ -).")
    if not ACTOR.match(args.actor.strip()):
        raise InputError("--actor must name who records the withdrawal (1 to 64 printable characters).",
                         "Give your name or user id, e.g. --actor hr.wang.")
    config = load_device_config(args.config)
    db_path, _ = state_paths(config)
    store = open_store(db_path)
    try:
        withdrawal = withdraw_consent(store, args.employee, actor=f"cli:{args.actor.strip()}", clock=SystemClock())
    finally:
        store.close()
    print(
        f"Consent of {withdrawal.employee_no} withdrawn ({', '.join(withdrawal.versions)}): "
        f"{withdrawal.templates} face template(s) and {len(withdrawal.snapshot_paths)} punch snapshot(s) deleted; "
        f"the HR server is told with record {withdrawal.outbox_seq}. Enrolment is refused until consent is "
        "recorded again.",
        flush=True,
    )
    return 0
