"""``edgehr asr``: offline speech recognition for interview booths."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

TRANSCRIBE_EPILOG = """\
Output: one line per file, in order. With --json each line is a JSON object
  {"path", "text", "audio_seconds", "seconds", "engine"}   ("warnings" added when the audio is clipped)
or, for a file that cannot be transcribed,
  {"path", "error", "code"}   e.g. code audio-silent ("we could not hear you"), audio-format, audio-corrupt.
A bad file never stops the others. Exit status: 0 when every file was transcribed, 1 when any failed
(each failure has its own line), 2 for a usage error, 1 with a message when the model cannot be loaded.
WAV or FLAC at any sample rate and channel count; converted to 16 kHz mono inside.
"""


def register(commands: Any) -> None:
    asr = commands.add_parser("asr", help="offline speech recognition for interview booths")
    sub = asr.add_subparsers(dest="asr_command", metavar="WHAT", required=True)
    transcribe = sub.add_parser(
        "transcribe",
        help="transcribe WAV/FLAC answer files (one line, or JSON object, per file)",
        epilog=TRANSCRIBE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    transcribe.add_argument("files", nargs="+", type=Path, metavar="FILE", help="WAV or FLAC files")
    transcribe.add_argument("--lang", choices=["en", "zh"], required=True, help="language spoken in the files")
    transcribe.add_argument("--engine", choices=["moonshine", "whisper", "vosk", "fake"], default=None,
                            help="override the configured recogniser (default: asr.engine_<lang> of --config, "
                                 "else moonshine for en, whisper for zh)")
    transcribe.add_argument("--config", type=Path, default=None,
                            help="device configuration file (TOML): its [asr] section chooses the recogniser")
    transcribe.add_argument("--json", action="store_true", help="one JSON object per line")
    transcribe.set_defaults(handler="cli.asr:transcribe")
