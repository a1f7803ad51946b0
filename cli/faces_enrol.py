"""``edgehr faces enrol``: enrol employees from a folder of photos, ROOT/<employee_no>/<photos>.

Consent is recorded first for each employee (the operator states which consent text version they
signed); each photo is reported as accepted or rejected with its reason; only templates are stored.
A running terminal on the same state folder picks the new templates up within a second.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from pathlib import Path

from core.errors import InputError

EMPLOYEE_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def run_enrol(args: argparse.Namespace) -> int:
    from core.clock import SystemClock
    from core.datakey import load_or_create
    from core.i18n import t
    from device.attendance.enrolment import Enroller
    from device.attendance.vision_parts import open_vision
    from device.config import load_device_config
    from device.runner import state_paths
    from device.store import open_store
    from device.store.employees import names

    root: Path = args.root
    if not root.is_dir():
        raise InputError(f"--root {root} is not a folder.", "Give the folder that holds one sub-folder per employee.")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    bad = [p.name for p in folders if not EMPLOYEE_NO.match(p.name)]
    if bad:
        raise InputError(
            f"These sub-folders of {root} are not employee numbers: {', '.join(bad)}.",
            "Name each sub-folder after the employee number (letters, digits, . _ -).",
        )
    if not folders:
        raise InputError(f"{root} has no employee sub-folders.", "Put each employee's photos in ROOT/<employee_no>/.")
    config = load_device_config(args.config)
    language = config.device.language
    vision = open_vision(config)
    db_path, key_path = state_paths(config)
    store = open_store(db_path)
    actor = f"cli:{getpass.getuser()}"
    failed = 0
    try:
        enroller = Enroller(
            store=store,
            key=load_or_create(key_path, sealed_rows=store.sealed_rows),
            embedder=vision.pipeline,
            model=vision.template_model,
            clock=SystemClock(),
            settings=config.enrolment,
            same_person_threshold=vision.same_person_threshold,
        )
        known = names(store)
        for number, folder in enumerate(folders, start=1):
            employee_no = folder.name
            print(f"[{number}/{len(folders)}] {employee_no}", flush=True)
            enroller.record_consent(
                employee_no, known.get(employee_no, employee_no), text_version=args.consent_version, recorded_by=actor
            )
            report = enroller.enrol_folder(employee_no, folder, actor=actor)
            for image in report.images:
                if image.accepted:
                    print(f"  {image.name}: {t('enrol.accepted', language)}", flush=True)
                else:
                    reason = image.reason or "unreadable"
                    print(f"  {image.name}: {reason} ({t('enrol.reason.' + reason, language)})", flush=True)
            if report.enrolled:
                print(f"  enrolled: {report.templates} templates from {report.good} good photos", flush=True)
            else:
                failed += 1
                print(
                    f"  NOT enrolled: {report.good} good photos, {report.needed} needed; previous templates kept. "
                    "Add clearer, frontal photos of this person alone and run again.",
                    flush=True,
                )
    finally:
        store.close()
    print(f"{len(folders) - failed} of {len(folders)} employees enrolled.", flush=True)
    if failed:
        print(f"edgehr: {failed} employee(s) not enrolled; see the reasons above.", file=sys.stderr)
    return 1 if failed else 0
