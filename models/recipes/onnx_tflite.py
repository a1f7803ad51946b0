"""Write an ONNX vision model as a float32 LiteRT model (.tflite), without TensorFlow.

Which models: MiniFAS (liveness), YuNet (the face detector) and the dlib face ResNet (the float32
embedder). The kiosk runs the MiniFAS file this writes: LiteRT with its default XNNPACK delegate runs it in
9.7 ms against ONNX Runtime's 15.1 ms on one x86 thread, with the same outputs (P(live) to 3.8e-6). YuNet
and the embedder were faster in ONNX Runtime on the same machine, so there they stay; ``edgehr bench
faces`` writes them in memory and times both runtimes (its "runtime" rows), so a Pi 4 can decide again.

Why not onnx2tf: it needs TensorFlow in a second 2.6 GB venv whose pins clash with the project's. This
writer needs only onnx, flatbuffers and the TFLite schema that ai_edge_litert ships
(``schema_py_generated``, object API), all installed already, and turns a model in under a second.

Scope, on purpose: exactly the ops those three networks use (Conv incl. depthwise, PRelu, Relu, Add, Mul,
Sigmoid, GlobalAveragePool, MaxPool, AveragePool, constant Pad, nearest 2x Resize, the Flatten or
Shape/Gather/Unsqueeze/Concat/Reshape of a flatten, a channels-last Transpose + Reshape of a detection
head, MatMul, and the BatchNormalization after a MatMul). Anything else, or a known op used another way,
raises ModelError naming the node: a model that converts half-way must not ship. Float32 only.

Layout: ONNX is NCHW, TFLite NHWC. Weights are transposed here and activations are NHWC throughout, so an
image input is [1, H, W, 3] (an HWC image needs no transpose). A head's Transpose to channels-last is then
a no-op and its Reshape reads the NHWC tensor directly, in the order the ONNX model produced.
The nearest 2x upsampling is written as CONCATENATION of four copies along channels + DEPTH_TO_SPACE 2,
which is the same (pixel (2i + a, 2j + b) of block copy a * 2 + b is pixel (i, j)) and, unlike
RESIZE_NEAREST_NEIGHBOR with its constant output size, keeps the model valid for any input size.

Input size: ``input_hw`` fixes H and W for writing (MiniFAS: 128 x 128 from the file). A fully
convolutional model (YuNet) written at one size runs at any other multiple of its stride after
``Interpreter.resize_tensor_input``; its input's shape signature says H and W are free.

Determinism: the bytes depend only on the ONNX file, the arguments and the versions of
onnx/flatbuffers/ai_edge_litert (no time stamps, order fixed by the graph order); models/manifest.toml
pins each file's sha256.

Usage (from the checkout root):  python models/recipes/onnx_tflite.py SOURCE.onnx OUT.tflite [--input-hw H W]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import onnx
from ai_edge_litert import schema_py_generated as schema
from numpy.typing import NDArray
from onnx import helper, numpy_helper, shape_inference

CHECKOUT = Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:  # run as a script from the checkout: core.errors must import
    sys.path.insert(0, str(CHECKOUT))

from core.errors import ModelError  # noqa: E402 - needs the checkout on sys.path first

OP = schema.BuiltinOperator
ACT_NONE = schema.ActivationFunctionType.NONE
ACT_RELU = schema.ActivationFunctionType.RELU
FLOAT32 = schema.TensorType.FLOAT32
INT32 = schema.TensorType.INT32
#: The ONNX ops MiniFAS and YuNet use; the converter refuses any other.
SUPPORTED_OPS = frozenset({
    "Conv", "PRelu", "Relu", "Add", "Mul", "Sigmoid", "GlobalAveragePool", "MatMul", "BatchNormalization",
    "Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "MaxPool", "Resize", "Transpose", "AveragePool", "Pad",
    "Flatten",
})
#: Ops that only compute the target shape of a flatten: dropped, the Reshape gets a constant shape.
SHAPE_OPS = frozenset({"Shape", "Gather", "Unsqueeze", "Concat"})
WRITER = "edgehr models/recipes/onnx_tflite.py (no TensorFlow)"
#: A head's channels-last Transpose: a no-op on NHWC activations.
TO_CHANNELS_LAST = [0, 2, 3, 1]

Array = NDArray[Any]


def unsupported(what: str) -> ModelError:
    return ModelError(
        f"models/recipes/onnx_tflite.py cannot convert this ONNX model: {what}.",
        "This writer handles only the ops of MiniFAS, YuNet and the dlib ResNet, used as they use them; convert "
        "other models another way, or extend the writer and check it against ONNX Runtime "
        "(tests/models/test_onnx_tflite.py).",
        code="model-unsupported-op",
    )


class _Writer:
    """Collects tensors, constant buffers and operators, then packs one TFLite flatbuffer."""

    def __init__(self) -> None:
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [schema.BufferT()]  # buffer 0 is the schema's empty sentinel
        self.operators: list[Any] = []
        self.code_index: dict[int, int] = {}
        self.codes: list[Any] = []

    def tensor(self, name: str, shape: list[int], data: Array | None = None, dtype: int = FLOAT32,
               signature: list[int] | None = None) -> int:
        t = schema.TensorT()
        t.name, t.shape, t.type = name, np.asarray(shape, dtype=np.int32), dtype
        if signature is not None:  # -1 marks a dimension the caller may resize
            t.shapeSignature = np.asarray(signature, dtype=np.int32)
        if data is not None:
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
            self.buffers.append(buffer)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, name: str, data: Array) -> int:
        if data.dtype == np.int32:
            return self.tensor(name, list(data.shape), data, INT32)
        return self.tensor(name, list(data.shape), np.ascontiguousarray(data, dtype=np.float32), FLOAT32)

    def op(self, code: int, inputs: list[int], outputs: list[int], options_type: int = 0, options: Any = None) -> None:
        if code not in self.code_index:
            c = schema.OperatorCodeT()
            # Builtin codes above 127 live only in builtinCode; the deprecated byte field caps at 127.
            c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), 1
            self.code_index[code] = len(self.codes)
            self.codes.append(c)
        o = schema.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = self.code_index[code], inputs, outputs
        o.builtinOptionsType, o.builtinOptions = options_type, options
        self.operators.append(o)

    def finish(self, inputs: list[int], outputs: list[int], description: str) -> bytes:
        graph = schema.SubGraphT()
        graph.tensors, graph.inputs, graph.outputs = self.tensors, inputs, outputs
        graph.operators, graph.name = self.operators, "main"
        model = schema.ModelT()
        model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, self.codes, [graph], self.buffers
        model.description = description
        builder = flatbuffers.Builder(1 << 20)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TFLite's SAME padding (before, after): the odd pixel goes after, unlike PyTorch's symmetric pads."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _nhwc(shape: list[int]) -> list[int]:
    return [shape[0], shape[2], shape[3], shape[1]] if len(shape) == 4 else shape


def convert(onnx_path: Path, *, name: str, input_hw: tuple[int, int] | None = None) -> bytes:
    """The .tflite bytes of the ONNX model at ``onnx_path``, batch fixed at 1; ``name`` goes into the file's
    description. ``input_hw`` sets the input's height and width (needed when the file leaves them free)
    and marks them resizable."""
    model = onnx.load(str(onnx_path))
    graph = model.graph
    if len(graph.input) != 1:
        raise unsupported(f"{len(graph.input)} inputs (one image input expected)")
    unknown = sorted({n.op_type for n in graph.node} - SUPPORTED_OPS)
    if unknown:
        first = next(n for n in graph.node if n.op_type in unknown)
        raise unsupported(f"op {first.op_type} (node {first.name!r}; all unsupported ops: {', '.join(unknown)})")
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_value = 1  # the kiosk runs one image or face at a time
    if input_hw is not None:
        if len(dims) != 4:
            raise unsupported(f"input_hw for a {len(dims)}-d input")
        dims[2].dim_value, dims[3].dim_value = input_hw
        # The export may record other sizes for inner tensors and outputs; let inference recompute them.
        del graph.value_info[:]
        for output in graph.output:
            for dim in output.type.tensor_type.shape.dim:
                dim.dim_param = "free"
    model = shape_inference.infer_shapes(model, strict_mode=True)
    graph = model.graph
    init: dict[str, Array] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    shapes = {v.name: [int(d.dim_value) for d in v.type.tensor_type.shape.dim]
              for v in [*graph.value_info, *graph.input, *graph.output]}
    nodes = list(graph.node)
    consumers = Counter(i for n in nodes for i in n.input)
    producer = {o: n for n in nodes for o in n.output}
    users: dict[str, list[Any]] = {}
    for n in nodes:
        for i in n.input:
            users.setdefault(i, []).append(n)

    # The Shape/Gather/Unsqueeze/Concat chain may only feed a Reshape's shape input; anything else would
    # be real computation this writer would silently drop.
    shape_only: set[str] = set()
    pending = [n.input[1] for n in nodes if n.op_type == "Reshape"]
    while pending:
        tensor_name = pending.pop()
        node = producer.get(tensor_name)
        if node is not None and node.op_type in SHAPE_OPS and node.name not in shape_only:
            shape_only.add(node.name)
            pending.extend(node.input)
    for n in nodes:
        if n.op_type in SHAPE_OPS and n.name not in shape_only:
            raise unsupported(f"{n.op_type} node {n.name!r} that does not only compute a flatten's shape")

    # BatchNormalization right after a MatMul (MiniFAS's embedding head) folds into the MatMul's weights.
    weight: dict[str, Array] = {}
    bias: dict[str, Array] = {}
    alias: dict[str, str] = {}
    channels_last: set[str] = set()  # outputs of a dropped channels-last Transpose (ONNX order = our NHWC)
    kept = []
    for n in nodes:
        if n.op_type == "BatchNormalization":
            src = producer.get(n.input[0])
            if src is None or src.op_type != "MatMul" or consumers[n.input[0]] != 1:
                raise unsupported(f"BatchNormalization {n.name!r} that does not directly follow a MatMul")
            gamma, beta, mean, var = (init[i] for i in n.input[1:5])
            eps = next((a.f for a in n.attribute if a.name == "epsilon"), 1e-5)
            scale = gamma / np.sqrt(var + eps)
            weight[src.output[0]] = init[src.input[1]] * scale[None, :]
            bias[src.output[0]] = beta - mean * scale
            alias[n.output[0]] = src.output[0]
            continue
        if n.op_type == "Transpose":
            perm = [int(v) for v in helper.get_attribute_value(n.attribute[0])] if n.attribute else []
            readers = users.get(n.output[0], [])
            if perm != TO_CHANNELS_LAST or not readers or any(r.op_type != "Reshape" for r in readers):
                raise unsupported(f"Transpose {n.name!r} (only a channels-last Transpose read by Reshapes)")
            channels_last.add(n.output[0])
            alias[n.output[0]] = n.input[0]
            continue
        kept.append(n)
    nodes = kept
    # A Relu whose input only it reads is fused into the Conv before it (TFLite's fused activation).
    fused: set[str] = set()
    producer = {o: n for n in nodes for o in n.output}
    for n in nodes:
        src = producer.get(n.input[0])
        if n.op_type == "Relu" and src is not None and src.op_type in ("Conv", "Add") and consumers[n.input[0]] == 1:
            fused.add(src.output[0])
            alias[n.output[0]] = src.output[0]

    w = _Writer()
    ids: dict[str, int] = {}

    def resolve(tensor_name: str) -> str:
        while tensor_name in alias:
            tensor_name = alias[tensor_name]
        return tensor_name

    def out(tensor_name: str) -> int:
        tensor_name = resolve(tensor_name)
        ids[tensor_name] = w.tensor(tensor_name, _nhwc(shapes[tensor_name]))
        return ids[tensor_name]

    def inp(tensor_name: str) -> int:
        return ids[resolve(tensor_name)]

    input_name = graph.input[0].name
    input_shape = _nhwc(shapes[input_name])
    signature = [1, -1, -1, input_shape[3]] if input_hw is not None else None
    ids[input_name] = w.tensor(input_name, input_shape, signature=signature)
    for n in nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        t = n.op_type
        if t in SHAPE_OPS or (t == "Relu" and n.output[0] in alias):
            continue
        act = ACT_RELU if n.output[0] in fused else ACT_NONE
        if t == "Conv":
            _conv(w, n, attrs, init, inp(n.input[0]), _nhwc(shapes[resolve(n.input[0])]), act, out)
        elif t == "Relu":
            w.op(OP.RELU, [inp(n.input[0])], [out(n.output[0])])
        elif t == "PRelu":
            alpha = init[n.input[1]].reshape(1, 1, -1)  # per channel, broadcast over H and W in NHWC
            w.op(OP.PRELU, [inp(n.input[0]), w.const(n.name + "/alpha", alpha)], [out(n.output[0])])
        elif t in ("Add", "Mul"):
            if any(i in init for i in n.input):
                raise unsupported(f"{t} {n.name!r} with a constant operand")
            if t == "Add":
                add = schema.AddOptionsT()
                add.fusedActivationFunction = act
                w.op(OP.ADD, [inp(i) for i in n.input], [out(n.output[0])], schema.BuiltinOptions.AddOptions, add)
            else:
                w.op(OP.MUL, [inp(i) for i in n.input], [out(n.output[0])], schema.BuiltinOptions.MulOptions,
                     schema.MulOptionsT())
        elif t == "Sigmoid":
            w.op(OP.LOGISTIC, [inp(n.input[0])], [out(n.output[0])])
        elif t == "GlobalAveragePool":
            mean_opts = schema.ReducerOptionsT()
            mean_opts.keepDims = True
            axes = w.const(n.name + "/axes", np.array([1, 2], np.int32))  # H and W in NHWC
            w.op(OP.MEAN, [inp(n.input[0]), axes], [out(n.output[0])], schema.BuiltinOptions.ReducerOptions, mean_opts)
        elif t in ("MaxPool", "AveragePool"):
            _pool(w, n, attrs, inp(n.input[0]), out)
        elif t == "Pad":
            _pad(w, n, attrs, init, inp(n.input[0]), out)
        elif t == "Resize":
            _upsample_2x(w, n, attrs, init, inp(n.input[0]), _nhwc(shapes[resolve(n.input[0])]), out)
        elif t in ("Reshape", "Flatten"):
            _reshape(w, n, attrs, init, inp(n.input[0]), shapes[resolve(n.input[0])], n.input[0] in channels_last,
                     out)
        elif t == "MatMul":
            if n.input[1] not in init:
                raise unsupported(f"MatMul {n.name!r} of two activations")
            k = weight.get(n.output[0], init[n.input[1]])  # K x N, the BatchNormalization folded in if any
            b = bias.get(n.output[0], np.zeros(k.shape[1], np.float32))
            w.op(OP.FULLY_CONNECTED,
                 [inp(n.input[0]), w.const(n.name + "/weights", k.T), w.const(n.name + "/bias", b)],
                 [out(n.output[0])], schema.BuiltinOptions.FullyConnectedOptions, schema.FullyConnectedOptionsT())
        else:  # pragma: no cover - SUPPORTED_OPS was checked above
            raise unsupported(f"op {t} (node {n.name!r})")
    description = f"{name} float32, written from ONNX by {WRITER}"
    return w.finish([ids[input_name]], [inp(o.name) for o in graph.output], description)


def _reshape(w: _Writer, n: Any, attrs: dict[str, Any], init: dict[str, Array], x: int, src_shape: list[int],
             is_channels_last: bool, out: Any) -> None:
    """A Reshape, or a Flatten (axis 1), as a TFLite RESHAPE."""
    if is_channels_last:
        # A detection head: [1, C, H, W] -> channels-last -> [1, -1, k]. Our tensor already is channels-last,
        # and -1 keeps the reshape valid at any input size.
        target = init.get(n.input[1])
        if target is None or target.ndim != 1 or len(target) != 3 or int(target[-1]) != src_shape[1]:
            raise unsupported(f"Reshape {n.name!r} of a channels-last head to {target} (only [1, -1, channels])")
        new_shape = np.array([1, -1, src_shape[1]], np.int32)
    else:
        # Flattening a 1 x 1 map gives the same order in NCHW and NHWC; a larger map would not.
        if attrs.get("axis", 1) != 1 or len(src_shape) != 4 or src_shape[2:] != [1, 1]:
            raise unsupported(f"{n.op_type} {n.name!r} of a {src_shape} tensor (only a flatten of a 1 x 1 map)")
        new_shape = np.array([1, src_shape[1]], np.int32)
    reshape = schema.ReshapeOptionsT()
    reshape.newShape = new_shape.tolist()
    w.op(OP.RESHAPE, [x, w.const(n.name + "/shape", new_shape)], [out(n.output[0])],
         schema.BuiltinOptions.ReshapeOptions, reshape)


def _pool(w: _Writer, n: Any, attrs: dict[str, Any], x: int, out: Any) -> None:
    kernel, strides = list(attrs.get("kernel_shape", [])), list(attrs.get("strides", [1, 1]))
    if (len(kernel) != 2 or any(attrs.get("pads", [0, 0, 0, 0])) or attrs.get("ceil_mode", 0)
            or any(d != 1 for d in attrs.get("dilations", [1, 1])) or attrs.get("auto_pad", b"NOTSET") != b"NOTSET"):
        raise unsupported(f"{n.op_type} {n.name!r} with padding, ceil_mode, dilation or auto_pad")
    pool = schema.Pool2DOptionsT()
    pool.padding, pool.filterHeight, pool.filterWidth = schema.Padding.VALID, kernel[0], kernel[1]
    pool.strideH, pool.strideW, pool.fusedActivationFunction = strides[0], strides[1], ACT_NONE
    code = OP.MAX_POOL_2D if n.op_type == "MaxPool" else OP.AVERAGE_POOL_2D
    w.op(code, [x], [out(n.output[0])], schema.BuiltinOptions.Pool2DOptions, pool)


def _pad(w: _Writer, n: Any, attrs: dict[str, Any], init: dict[str, Array], x: int, out: Any) -> None:
    """ONNX constant Pad with zeros, pads [N, C, H, W begins, N, C, H, W ends] -> TFLite PAD in NHWC."""
    pads = init.get(n.input[1]) if len(n.input) > 1 else None
    value = init.get(n.input[2]) if len(n.input) > 2 and n.input[2] else None
    if (attrs.get("mode", b"constant") != b"constant" or pads is None or pads.size != 8
            or (value is not None and float(value.reshape(-1)[0]) != 0.0) or (len(n.input) > 3 and n.input[3])):
        raise unsupported(f"Pad {n.name!r} other than zeros by constant pads on a 4-d tensor")
    begin, end = pads[:4].astype(np.int32), pads[4:].astype(np.int32)
    nhwc = [(begin[i], end[i]) for i in (0, 2, 3, 1)]
    table = w.const(n.name + "/pads", np.array(nhwc, np.int32))
    w.op(OP.PAD, [x, table], [out(n.output[0])], schema.BuiltinOptions.PadOptions, schema.PadOptionsT())


def _upsample_2x(w: _Writer, n: Any, attrs: dict[str, Any], init: dict[str, Array], x: int, in_shape: list[int],
                 out: Any) -> None:
    """ONNX nearest Resize by exactly 2 (asymmetric, floor: output pixel (y, x) = input (y // 2, x // 2))."""
    scales = init.get(n.input[2]) if len(n.input) > 2 else None
    if (attrs.get("mode") != b"nearest" or attrs.get("coordinate_transformation_mode") != b"asymmetric"
            or attrs.get("nearest_mode") != b"floor" or scales is None or scales.tolist() != [1.0, 1.0, 2.0, 2.0]
            or (len(n.input) > 3 and n.input[3])):
        raise unsupported(f"Resize {n.name!r} other than nearest (asymmetric, floor) by constant scales 1, 1, 2, 2")
    _, h, wd, c = in_shape
    tiled = w.tensor(n.name + "/tiled", [1, h, wd, 4 * c])
    concat = schema.ConcatenationOptionsT()
    concat.axis, concat.fusedActivationFunction = 3, ACT_NONE
    w.op(OP.CONCATENATION, [x, x, x, x], [tiled], schema.BuiltinOptions.ConcatenationOptions, concat)
    d2s = schema.DepthToSpaceOptionsT()
    d2s.blockSize = 2
    w.op(OP.DEPTH_TO_SPACE, [tiled], [out(n.output[0])], schema.BuiltinOptions.DepthToSpaceOptions, d2s)


def _conv(w: _Writer, n: Any, attrs: dict[str, Any], init: dict[str, Array], x: int, in_shape: list[int],
          act: int, out: Any) -> None:
    kernel = init[n.input[1]]
    b = init[n.input[2]] if len(n.input) > 2 else np.zeros(kernel.shape[0], np.float32)
    group = int(attrs.get("group", 1))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    if any(d != 1 for d in attrs.get("dilations", [1, 1])) or auto_pad not in (b"NOTSET", "NOTSET"):
        raise unsupported(f"Conv {n.name!r} with dilation or auto_pad")
    kh, kw = kernel.shape[2:]
    sh, sw = attrs.get("strides", [1, 1])
    pt, pl, pb, pr = attrs.get("pads", [0, 0, 0, 0])
    _, h, wd, c = in_shape
    if (pt, pl, pb, pr) == (0, 0, 0, 0):
        padding = schema.Padding.VALID
    elif (pt, pb) == _same_pads(h, kh, sh) and (pl, pr) == _same_pads(wd, kw, sw):
        padding = schema.Padding.SAME
    else:  # PyTorch's symmetric pads on a stride-2 layer: an explicit PAD, then a VALID convolution
        pads = w.const(n.name + "/pads", np.array([[0, 0], [pt, pb], [pl, pr], [0, 0]], np.int32))
        padded = w.tensor(n.name + "/padded", [1, h + pt + pb, wd + pl + pr, c])
        w.op(OP.PAD, [x, pads], [padded], schema.BuiltinOptions.PadOptions, schema.PadOptionsT())
        x, padding = padded, schema.Padding.VALID
    bias_t = w.const(n.name + "/bias", b)
    if group == 1:
        filt = w.const(n.name + "/filter", kernel.transpose(0, 2, 3, 1))  # OIHW -> OHWI
        opts = schema.Conv2DOptionsT()
        opts.padding, opts.strideH, opts.strideW, opts.fusedActivationFunction = padding, sh, sw, act
        w.op(OP.CONV_2D, [x, filt, bias_t], [out(n.output[0])], schema.BuiltinOptions.Conv2DOptions, opts)
    elif group == kernel.shape[0] == c and kernel.shape[1] == 1:
        filt = w.const(n.name + "/filter", kernel.transpose(1, 2, 3, 0))  # O1HW -> 1HWO
        dw = schema.DepthwiseConv2DOptionsT()
        dw.padding, dw.strideH, dw.strideW, dw.depthMultiplier, dw.fusedActivationFunction = padding, sh, sw, 1, act
        w.op(OP.DEPTHWISE_CONV_2D, [x, filt, bias_t], [out(n.output[0])],
             schema.BuiltinOptions.DepthwiseConv2DOptions, dw)
    else:
        raise unsupported(f"grouped Conv {n.name!r} (group {group}, neither plain nor depthwise)")


def build(source: Path, out: Path, *, name: str, input_hw: tuple[int, int] | None = None) -> None:
    """Convert ``source`` and write ``out`` (through a temporary file, so a failed run leaves no half file)."""
    data = convert(source, name=name, input_hw=input_hw)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(data)
    partial.replace(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="ONNX file (MiniFAS or YuNet)")
    ap.add_argument("out", type=Path, help="the .tflite to write")
    ap.add_argument("--name", default=None, help="model name for the file's description (default: the source's stem)")
    ap.add_argument("--input-hw", type=int, nargs=2, metavar=("H", "W"), default=None,
                    help="input height and width to write (a fully convolutional model stays resizable)")
    args = ap.parse_args(argv)
    build(args.source, args.out, name=args.name or args.source.stem,
          input_hw=tuple(args.input_hw) if args.input_hw else None)
    print(f"{args.out}: {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
