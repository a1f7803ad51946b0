"""``edgehr bench``: measured figures (speed, memory, accuracy) as a table and JSON."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    bench = commands.add_parser("bench", help="benchmarks: print a table, or JSON with --json")
    sub = bench.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    faces = sub.add_parser("faces", help="decision latency, accuracy and memory vs the dlib baseline")
    faces.add_argument("--json", action="store_true")
    faces.add_argument(
        "--max-images", type=int, default=0, help="bound the images per accuracy protocol (default 0 = all)"
    )
    faces.set_defaults(handler="cli.faces:bench_faces")
    search = sub.add_parser("search", help="1:N gallery search time for 1k..100k templates")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler="cli.faces:bench_search")
    liveness = sub.add_parser(
        "liveness", help="MiniFAS on live faces and SYNTHETIC print/screen attacks: APCER, BPCER, AUC, speed"
    )
    liveness.add_argument("--max-images", type=int, default=0, help="bound the faces used (default 0 = all)")
    liveness.add_argument("--threshold", type=float, default=0.0,
                          help="liveness threshold (default 0 = recognition.liveness_threshold's default)")
    liveness.add_argument("--variants", action="store_true",
                          help="also measure altered preprocessing (BGR, 0-255, other crop scales) for comparison")
    liveness.add_argument("--json", action="store_true")
    liveness.set_defaults(handler="cli.faces_liveness:bench_liveness")
    attempts = sub.add_parser(
        "attempts", help="the kiosk loop per person at the terminal: false rejects by cause, wrong person, "
        "strangers and SYNTHETIC attacks accepted, time to decision"
    )
    attempts.add_argument("--challenge", choices=("off", "turn"), default="off",
                          help="recognition.active_challenge for the run (default off)")
    attempts.add_argument("--every", type=int, default=1,
                          help="only every Nth appearance (quick iterations; the figures are the full run's)")
    attempts.add_argument("--fusion", choices=("consecutive", "mean-logit"), default="consecutive",
                          help="recognition.liveness_fusion for the run (default consecutive)")
    attempts.add_argument("--json", action="store_true")
    attempts.set_defaults(handler="drills.vision.attempts:handle")
    sync = sub.add_parser("sync", help="encrypted records per second through mosquitto into the server store")
    sync.add_argument("--records", type=int, default=20000)
    sync.add_argument("--batch-size", type=int, default=100, help="records per MQTT message (1..500)")
    sync.add_argument("--database-url", default="", help="server store: empty = SQLite, or postgresql://...")
    sync.add_argument("--workers", type=int, default=2, help="ingest worker processes (shared subscription)")
    sync.add_argument("--json", action="store_true")
    sync.set_defaults(handler="drills.sync_bench:handle")
    pages = sub.add_parser(
        "timesheet-page", help="HR's timesheet page, CSV and a person's days for thousands of people"
    )
    pages.add_argument("--people", type=int, default=2000)
    pages.add_argument("--days", type=int, default=31, help="days in the range (from Monday 2026-03-02)")
    pages.add_argument("--repeat", type=int, default=3, help="fetches per page (the median is reported)")
    pages.add_argument("--json", action="store_true")
    pages.set_defaults(handler="drills.timesheet_page_bench:handle")
    hardware = sub.add_parser("hardware", help="camera/microphone replay speed and pacing accuracy")
    hardware.add_argument("--json", action="store_true")
    hardware.set_defaults(handler="drills.hardware_bench:bench_hardware")
    asr = sub.add_parser(
        "asr",
        help="speech recognition: WER (en) / CER (zh) on ../shared/datasets/speech, real-time factor, peak RSS",
        description="Each setting runs in its own process with one thread; see drills/asr_bench.py for the method.",
    )
    asr.add_argument("--lang", action="append", choices=["en", "zh"], default=None,
                     help="only this language's default settings (repeatable; default both)")
    asr.add_argument("--setting", action="append", default=None,
                     help="a setting to measure (repeatable): moonshine-en, whisper-en, whisper-zh, "
                          "whisper-zh-noprompt, whisper-zh-greedy, whisper-zh-float32, the Mandarin decoding "
                          "candidates (whisper-zh-window3-beam3 ...; zh-candidates = all of them, one run)")
    asr.add_argument("--max-clips", type=int, default=0, help="bound the clips per language (default 0 = all)")
    asr.add_argument("--threads", type=int, default=1, help="recogniser threads (default 1)")
    asr.add_argument("--jobs", type=int, default=1,
                     help="settings measured at the same time, each in its own one-thread process (default 1)")
    asr.add_argument("--json", action="store_true")
    asr.set_defaults(handler="cli.asr:bench_asr")
    interview = sub.add_parser(
        "interview", help="answer scorer vs human grades (mohler-dev, Pearson r), time per answer, memory"
    )
    interview.add_argument("--json", action="store_true")
    interview.add_argument("--data", default="", help="graded answers CSV (default: the shared mohler-dev.csv)")
    interview.add_argument("--no-e5", action="store_true", help="skip the multilingual encoder's row")
    interview.add_argument("--booth-memory", action="store_true",
                           help="only the booth's memory row: peak RSS of a booth process after an answer in en and zh")
    interview.add_argument("--config", default="", help="a booth's device config for the memory row ([asr], [booth])")
    interview.set_defaults(handler="drills.interview_bench:bench_interview")
    self_service = sub.add_parser(
        "self-service", help="HR server: one employee's /me (hours, punches) vs the whole site's timesheet, CPU time",
        description="See drills/self_service_bench.py for the method.",
    )
    self_service.add_argument("--employees", type=int, default=1000, help="people on the site (default 1000)")
    self_service.add_argument("--days", type=int, default=30, help="days of punches, in and out each (default 30)")
    self_service.add_argument("--repeat", type=int, default=10, help="calls per figure (default 10)")
    self_service.add_argument("--json", action="store_true")
    self_service.set_defaults(handler="drills.self_service_bench:bench_self_service")
