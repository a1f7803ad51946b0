"""Moonshine base (English) for ONNX Runtime: the moonshine-cpp wheel's .ort files saved as plain ONNX.

The wheel carries ``encoder_model.ort`` and ``decoder_model_merged.ort`` (ONNX Runtime's flat-buffer
format, int8 weights dequantized inside the graph). Loaded as they are, ONNX Runtime cannot re-optimise
them and dequantizes the weights at every decoding step. This recipe loads each with
``SessionOptions.optimized_model_filepath`` set and no further rewrites, which writes the graph as
ONNX; the merged decoder's two If subgraphs come out with empty names, which ONNX Runtime refuses when
it loads the file again, so they are named here with the ``onnx`` package. At run time the booth loads
the .onnx with full optimisation (device/interview/asr/moonshine.py): same transcripts, about 3x faster.
The tokenizer is copied as it is. Nothing here is tied to x86: the files run on aarch64 too.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def _name_subgraphs(graph: object, prefix: str) -> int:
    import onnx

    named = 0
    for node in graph.node:  # type: ignore[attr-defined]
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                if not attribute.g.name:
                    attribute.g.name = f"{prefix}_{node.name or node.op_type}_{attribute.name}"
                    named += 1
                named += _name_subgraphs(attribute.g, attribute.g.name)
    return named


def ort_to_onnx(source: Path, out: Path) -> None:
    import onnx
    import onnxruntime as ort

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.optimized_model_filepath = str(raw)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        model = onnx.load(str(raw))
    named = _name_subgraphs(model.graph, "main")
    partial = out.with_suffix(".partial")
    onnx.save(model, str(partial))
    partial.replace(out)
    print(f"  wrote {out.name} ({named} If subgraph(s) named)")


def copy(source: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, out)
