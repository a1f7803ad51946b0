"""ONNX Runtime sessions for the face models, set up one way: CPU, a fixed thread count, sequential.

The kiosk runs the detector, liveness and embedder one after another on a 4-core Pi next to the kiosk
screen, so each session keeps to ``threads`` intra-op threads (1 by default) and one inter-op thread
instead of every model spinning up a pool as wide as the machine. Measured (``edgehr bench faces``
method, one x86 thread): graph optimisation level, memory arena / pattern and spin-wait settings made no
difference beyond noise for these three models, so ORT's defaults (ORT_ENABLE_ALL) are kept for those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime


def session(model: str | bytes, threads: int = 1) -> onnxruntime.InferenceSession:
    """A CPU session for ``model`` (a path, or the serialised model) with ``threads`` intra-op threads."""
    import onnxruntime as ort

    if threads < 1:
        raise ValueError("threads must be at least 1")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
