"""ONNX Runtime sessions for the face models, set up one way: CPU, a fixed thread count, sequential.

The kiosk runs the detector, liveness and embedder one after another on a 4-core Pi next to the kiosk
screen, so each session keeps to ``threads`` intra-op threads (1 by default) and one inter-op thread
instead of every model spinning up a pool as wide as the machine. Measured (``edgehr bench faces``
method, one x86 thread): graph optimisation level, memory arena / pattern and spin-wait settings made no
difference beyond noise for these three models, so ORT's defaults (ORT_ENABLE_ALL) are kept for those.

One of ORT's graph rewrites is switched off: QDQPropagationTransformer. In the int8 embedder it moves the
QuantizeLinear after the float first convolution up past the max pool, which leaves a uint8 max pool in
NCHW layout, a kernel ORT has only in a generic form (1.4 ms for a 32 x 72 x 72 map) and which also
splits the int8 layers' NHWC layout with transposes. Without it the pool stays float next to the
convolution (46 us) and the descriptors are bit-identical: 16.1 instead of 17.6 ms per face
(one x86 thread, interleaved runs). Models without QuantizeLinear nodes are not affected.
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
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"],
                                disabled_optimizers=["QDQPropagationTransformer"])
