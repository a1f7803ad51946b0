"""Offline speech recognition for interview booths: one engine interface, real adapters, a fake."""

from device.interview.asr.engine import AsrEngine, BufferedStream, RecognizerStream
from device.interview.asr.factory import open_engine
from device.interview.asr.transcribe import Transcript, transcribe_file

__all__ = ["AsrEngine", "BufferedStream", "RecognizerStream", "Transcript", "open_engine", "transcribe_file"]
