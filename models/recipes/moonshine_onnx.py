"""Moonshine base (English) for ONNX Runtime: the moonshine-cpp wheel's .ort files saved as plain ONNX.

The wheel carries ``encoder_model.ort`` and ``decoder_model_merged.ort`` (ONNX Runtime's flat-buffer
format, int8 weights dequantized inside the graph). Loaded as they are, ONNX Runtime cannot re-optimise
them and dequantizes the weights at every decoding step. This recipe loads each with
``SessionOptions.optimized_model_filepath`` set and no further rewrites, which writes the graph as
ONNX; the merged decoder's two If subgraphs come out with empty names, which ONNX Runtime refuses when
it loads the file again, so they are named here with the ``onnx`` package.

Loaded with full optimisation that graph folds the int8 weights into float32 once (about 3x faster than
the .ort files), but the merged decoder's two If branches each get their own float copy: 355 MB of
weights and ~850 MB peak RSS, too much for a booth that also runs the scorer. So the recipe then (1)
saves the basic-optimised float graph (DequantizeLinear folded) and (2) quantizes its MatMul weights
again with ONNX Runtime's dynamic quantization (int8 per-tensor weights, activations quantized per call;
If subgraphs included): as fast as the folded float graph, ~345 MB peak RSS, WER within noise (see the
manifest). The tokenizer is copied as it is. Nothing here is tied to x86: the files run on aarch64 too.
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


def _save_optimised(source: Path, out: Path, level: str) -> None:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.optimized_model_filepath = str(out)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def ort_to_onnx(source: Path, out: Path) -> None:
    """``source`` .ort -> ONNX with named subgraphs -> float weights folded -> dynamic int8 ``out``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw, named_path, folded = Path(tmp) / "raw.onnx", Path(tmp) / "named.onnx", Path(tmp) / "folded.onnx"
        _save_optimised(source, raw, "ORT_DISABLE_ALL")
        model = onnx.load(str(raw))
        named = _name_subgraphs(model.graph, "main")
        onnx.save(model, str(named_path))
        del model
        _save_optimised(named_path, folded, "ORT_ENABLE_BASIC")  # DequantizeLinear folded: float weights
        partial = out.with_suffix(".partial")
        quantize_dynamic(
            str(folded), str(partial), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"],
            extra_options={"EnableSubgraph": True},
        )
    partial.replace(out)
    print(f"  wrote {out.name} ({named} If subgraph(s) named, MatMul weights dynamic int8)")


def copy(source: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, out)
