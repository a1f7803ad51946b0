"""Convert dlib's face-recognition ResNet (.dat) into an ONNX model, without dlib or torch.

Source: ``dlib_face_recognition_resnet_model_v1.dat`` from the pip package
face-recognition-models 0.3.0 (CC0). The format and the network are described in
../shared/models-src/dlib-resnet.md; this file is the executable form of that note.

The produced model (opset 17):
  input  ``chips``       float32 [N, 3, 150, 150], planar RGB, raw pixel values 0..255
  output ``descriptor``  float32 [N, 128], dlib's raw descriptor (NOT L2-normalised)

dlib's input normalisation ((v - mean) / 256) and every affine (batch norm already folded by
dlib) are folded into the neighbouring convolution, so the graph is only Conv, Relu, MaxPool,
AveragePool, Pad, Add, GlobalAveragePool, Flatten and MatMul.

Usage (from the checkout root):  python models/recipes/dlib_resnet.py --out model.onnx
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# IR 8 is the version that introduced opset 17; pinning it keeps the file loadable by the
# older ONNX Runtime builds found on Raspberry Pi OS, and keeps the bytes stable across
# onnx package upgrades (onnx would otherwise stamp its own newest IR version).
IR_VERSION = 8
CHIP_SIZE = 150
EMBEDDING_DIM = 128
INPUT_NAME = "chips"
OUTPUT_NAME = "descriptor"

F32 = NDArray[np.float32]


class DatFormatError(ValueError):
    """The .dat file does not have the layout this recipe was written for."""


# ---------------------------------------------------------------------------------------------
# dlib's serialize() primitives
# ---------------------------------------------------------------------------------------------


class _Reader:
    """Sequential reader for dlib's serialize() encoding (see dlib/serialize.h)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DatFormatError(f"unexpected end of file at byte {self.pos} (wanted {n} bytes)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def integer(self) -> int:
        # One control byte: low nibble = number of magnitude bytes, 0x80 = negative.
        control = self._take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise DatFormatError(f"bad integer control byte {control:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little") if size else 0
        return -value if control & 0x80 else value

    def string(self) -> str:
        length = self.integer()
        return self._take(length).decode("ascii")

    def boolean(self) -> bool:
        ch = self._take(1)
        if ch not in (b"0", b"1"):
            raise DatFormatError(f"bad boolean {ch!r} at byte {self.pos - 1}")
        return ch == b"1"

    def scalar(self) -> float:
        # float_details: int64 mantissa FIRST, then int16 exponent (serialize.h's comment
        # states the other order; the code writes the mantissa first).
        mantissa = self.integer()
        exponent = self.integer()
        if exponent >= 32000:
            raise DatFormatError(f"non-finite scalar (exponent {exponent}) at byte {self.pos}")
        return float(mantissa * 2.0**exponent)

    def tensor(self) -> F32:
        version = self.integer()
        if version != 2:
            raise DatFormatError(f"tensor version {version} at byte {self.pos}, expected 2")
        shape = tuple(self.integer() for _ in range(4))
        count = shape[0] * shape[1] * shape[2] * shape[3]
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, ...]:
        version = self.integer()
        if version != 1:
            raise DatFormatError(f"alias tensor version {version} at byte {self.pos}, expected 1")
        return tuple(self.integer() for _ in range(4))

    def expect_string(self, *allowed: str) -> str:
        name = self.string()
        if name not in allowed:
            raise DatFormatError(f"found {name!r} at byte {self.pos}, expected one of {allowed}")
        return name


# ---------------------------------------------------------------------------------------------
# Parsed network
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    weight: F32  # [out, in, kh, kw], cross-correlation order like ONNX
    bias: F32  # [out]
    stride: int
    pad: int


@dataclass(frozen=True)
class Affine:
    gamma: F32
    beta: F32


@dataclass(frozen=True)
class Pool:
    kind: str  # "max" | "avg" | "global_avg"
    size: int
    stride: int
    pad: int


@dataclass(frozen=True)
class Fc:
    weight: F32  # [in, out]: y = x @ weight


@dataclass(frozen=True)
class Marker:
    kind: str  # "relu" | "add_prev" | "tag_or_skip"


Layer = Conv | Affine | Pool | Fc | Marker


@dataclass
class DlibNet:
    means_rgb: tuple[float, float, float]
    input_size: tuple[int, int]
    margin: float
    distance_threshold: float
    layers: list[Layer] = field(default_factory=list)  # input side first


def _read_conv(r: _Reader) -> Conv:
    r.expect_string("con_4")
    params = r.tensor().reshape(-1)
    filters, rows, cols = r.integer(), r.integer(), r.integer()
    stride_y, stride_x, pad_y, pad_x = (r.integer() for _ in range(4))
    w_shape, b_shape = r.alias(), r.alias()
    for _ in range(4):  # learning-rate / weight-decay multipliers: training only
        r.scalar()
    if stride_y != stride_x or pad_y != pad_x or rows != cols:
        raise DatFormatError("only square kernels with equal strides/pads are expected")
    w_count = w_shape[0] * w_shape[1] * w_shape[2] * w_shape[3]
    if w_shape[0] != filters or (w_shape[2], w_shape[3]) != (rows, cols):
        raise DatFormatError(f"conv filter alias {w_shape} does not match {filters}x{rows}x{cols}")
    if params.size != w_count + filters or b_shape[1] != filters:
        raise DatFormatError("conv parameter tensor size does not match filters + biases")
    weight = params[:w_count].reshape(w_shape)
    bias = params[w_count:].copy()
    return Conv(weight=weight, bias=bias, stride=stride_y, pad=pad_y)


def _read_affine(r: _Reader) -> Affine:
    r.expect_string("affine_")
    params = r.tensor().reshape(-1)
    g_shape, _ = r.alias(), r.alias()
    mode = r.integer()
    if mode != 0:  # 0 = CONV_MODE: one gamma/beta per channel
        raise DatFormatError(f"affine mode {mode}, expected 0 (per channel)")
    channels = g_shape[1]
    if params.size != 2 * channels:
        raise DatFormatError("affine parameter tensor is not gamma[C] + beta[C]")
    return Affine(gamma=params[:channels].copy(), beta=params[channels:].copy())


def _read_pool(r: _Reader, name: str) -> Pool:
    rows, cols, stride_y, stride_x, pad_y, pad_x = (r.integer() for _ in range(6))
    if rows == 0 and cols == 0:
        if name != "avg_pool_2":
            raise DatFormatError("a global pool must be an average pool")
        return Pool(kind="global_avg", size=0, stride=1, pad=0)
    if rows != cols or stride_y != stride_x or pad_y != pad_x:
        raise DatFormatError("only square pools are expected")
    return Pool(kind="max" if name == "max_pool_2" else "avg", size=rows, stride=stride_y, pad=pad_y)


def _read_fc(r: _Reader) -> Fc:
    r.expect_string("fc_2")
    outputs, inputs = r.integer(), r.integer()
    params = r.tensor()
    r.alias()
    r.alias()
    bias_mode = r.integer()
    for _ in range(4):
        r.scalar()
    if bias_mode != 1:  # 1 = FC_NO_BIAS
        raise DatFormatError(f"fc bias mode {bias_mode}, expected 1 (no bias)")
    if params.size != inputs * outputs:
        raise DatFormatError("fc parameter tensor is not inputs x outputs")
    return Fc(weight=params.reshape(inputs, outputs).copy())


def _read_details(r: _Reader) -> Layer:
    start = r.pos
    name = r.string()
    if name in ("relu_", "add_prev_"):
        return Marker(kind=name.rstrip("_"))
    if name in ("max_pool_2", "avg_pool_2"):
        return _read_pool(r, name)
    r.pos = start  # the remaining readers check their own name
    if name == "con_4":
        return _read_conv(r)
    if name == "affine_":
        return _read_affine(r)
    if name == "fc_2":
        return _read_fc(r)
    raise DatFormatError(f"unknown layer {name!r} at byte {start}")


def _read_wrapper_tail(r: _Reader, innermost: bool) -> None:
    # add_layer's bookkeeping: 3 booleans, then x_grad, cached_output and params_grad
    # (grad_final for the innermost layer) tensors, all empty in a saved model.
    for _ in range(3):
        r.boolean()
    for _ in range(3):
        t = r.tensor()
        if t.size:
            raise DatFormatError("expected an empty bookkeeping tensor")
    if innermost:
        r.integer()  # _sample_expansion_factor


def parse_dat(data: bytes) -> DlibNet:
    r = _Reader(data)
    if r.integer() != 1:
        raise DatFormatError("expected loss layer version 1")
    r.expect_string("loss_metric_2")
    margin, threshold = r.scalar(), r.scalar()

    # Every wrapper writes its version before recursing into its subnetwork, so all
    # versions come first, outermost first: 2 = add_layer, 1 = tag or skip, 3 = innermost
    # add_layer (the one holding the input layer).
    versions: list[int] = []
    while True:
        v = r.integer()
        versions.append(v)
        if v == 3:
            break
        if v not in (1, 2):
            raise DatFormatError(f"unexpected wrapper version {v}")
    versions.reverse()  # input side first, like the details that follow

    r.expect_string("input_rgb_image_sized")
    means = (r.scalar(), r.scalar(), r.scalar())
    input_size = (r.integer(), r.integer())
    net = DlibNet(means_rgb=means, input_size=input_size, margin=margin, distance_threshold=threshold)
    for i, v in enumerate(versions):
        if v == 1:  # tags and skips write nothing after their version
            net.layers.append(Marker(kind="tag_or_skip"))
            continue
        net.layers.append(_read_details(r))
        _read_wrapper_tail(r, innermost=(i == 0))
    if r.pos != len(data):
        raise DatFormatError(f"{len(data) - r.pos} trailing bytes after the network")
    return net


def load_dat(path: Path) -> DlibNet:
    return parse_dat(path.read_bytes())


# ---------------------------------------------------------------------------------------------
# Structure check: the token stream must be exactly dlib's "anet_type" of dnn_face_recognition_ex
# ---------------------------------------------------------------------------------------------

# One letter per layer, so that the known architecture can be checked with a regular
# expression: C conv, A affine, R relu, M max pool, V avg pool, G global avg pool, P add_prev,
# T tag/skip, F fully connected.
_STEM = "CARM"
_RES = "TCARCAPR"  # tag1, conv, affine, relu, conv, affine, add_prev1, relu
_DOWN = "TCARCATTVPR"  # tag1, conv/2 ... affine, tag2, skip1, avg pool 2x2/2, add_prev2, relu
_EXPECTED = (
    _STEM
    + _RES * 3
    + (_DOWN + _RES * 3)
    + (_DOWN + _RES * 2)
    + (_DOWN + _RES * 2)
    + _DOWN
    + "GF"
)


def _token(layer: Layer) -> str:
    if isinstance(layer, Conv):
        return "C"
    if isinstance(layer, Affine):
        return "A"
    if isinstance(layer, Fc):
        return "F"
    if isinstance(layer, Pool):
        return {"max": "M", "avg": "V", "global_avg": "G"}[layer.kind]
    return {"relu": "R", "add_prev": "P", "tag_or_skip": "T"}[layer.kind]


def check_structure(net: DlibNet) -> None:
    tokens = "".join(_token(layer) for layer in net.layers)
    if tokens != _EXPECTED:
        raise DatFormatError(f"layer sequence {tokens} is not dlib's face-recognition ResNet")
    if net.input_size != (CHIP_SIZE, CHIP_SIZE):
        raise DatFormatError(f"input size {net.input_size}, expected {CHIP_SIZE}x{CHIP_SIZE}")


def parameter_count(net: DlibNet) -> int:
    total = 0
    for layer in net.layers:
        if isinstance(layer, Conv):
            total += layer.weight.size + layer.bias.size
        elif isinstance(layer, Affine):
            total += layer.gamma.size + layer.beta.size
        elif isinstance(layer, Fc):
            total += layer.weight.size
    return total


# ---------------------------------------------------------------------------------------------
# Folding
# ---------------------------------------------------------------------------------------------


def _fold_affine(conv: Conv, affine: Affine) -> Conv:
    g = affine.gamma.astype(np.float64)
    w = conv.weight.astype(np.float64) * g[:, None, None, None]
    b = conv.bias.astype(np.float64) * g + affine.beta.astype(np.float64)
    return Conv(weight=w.astype(np.float32), bias=b.astype(np.float32), stride=conv.stride, pad=conv.pad)


def _fold_input_normalisation(conv: Conv, means: tuple[float, float, float]) -> Conv:
    # dlib feeds (v - mean_c) / 256. conv1 has no padding, so every tap sees a real pixel and
    # W*(x - m)/256 + b == (W/256)*x + (b - sum(W*m)/256) holds exactly (no border effect).
    if conv.pad != 0:
        raise DatFormatError("conv1 has padding; the normalisation cannot be folded exactly")
    w = conv.weight.astype(np.float64)
    m = np.asarray(means, dtype=np.float64)
    b = conv.bias.astype(np.float64) - np.einsum("oikl,i->o", w, m) / 256.0
    return Conv(weight=(w / 256.0).astype(np.float32), bias=b.astype(np.float32), stride=conv.stride, pad=0)


# ---------------------------------------------------------------------------------------------
# ONNX graph
# ---------------------------------------------------------------------------------------------


class _GraphBuilder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.shapes: dict[str, tuple[int, int, int]] = {}  # tensor -> (C, H, W)

    def const(self, name: str, value: NDArray[np.generic]) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def conv(self, name: str, x: str, conv: Conv) -> str:
        w = self.const(f"{name}.weight", conv.weight)
        b = self.const(f"{name}.bias", conv.bias)
        k = conv.weight.shape[2]
        p = conv.pad
        self.nodes.append(
            helper.make_node(
                "Conv", [x, w, b], [name], name=name,
                kernel_shape=[k, k], strides=[conv.stride] * 2, pads=[p, p, p, p],
            )
        )
        c_in, h, wd = self.shapes[x]
        if conv.weight.shape[1] != c_in:
            raise DatFormatError(f"{name}: {conv.weight.shape[1]} input channels, tensor has {c_in}")
        out = (h + 2 * p - k) // conv.stride + 1
        self.shapes[name] = (conv.weight.shape[0], out, (wd + 2 * p - k) // conv.stride + 1)
        return name

    def unary(self, op: str, name: str, x: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, [x], [name], name=name, **attrs))
        self.shapes[name] = self.shapes[x]  # callers that change the shape overwrite this
        return name

    def pool(self, name: str, x: str, pool: Pool) -> str:
        op = "MaxPool" if pool.kind == "max" else "AveragePool"
        k, s, p = pool.size, pool.stride, pool.pad
        self.unary(op, name, x, kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p])
        c, h, w = self.shapes[x]
        self.shapes[name] = (c, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
        return name

    def pad_to(self, name: str, x: str, shape: tuple[int, int, int]) -> str:
        # dlib's add_prev zero-fills the smaller operand at the END of each axis (operands
        # sit at index 0), so pad channels / bottom / right only.
        c, h, w = self.shapes[x]
        tc, th, tw = shape
        if (c, h, w) == shape:
            return x
        pads = np.array([0, 0, 0, 0, 0, tc - c, th - h, tw - w], dtype=np.int64)
        if (pads < 0).any():
            raise DatFormatError(f"{name}: cannot pad {(c, h, w)} to {shape}")
        self.nodes.append(
            helper.make_node("Pad", [x, self.const(f"{name}.pads", pads)], [name], name=name, mode="constant")
        )
        self.shapes[name] = shape
        return name

    def add(self, name: str, a: str, b: str) -> str:
        sa, sb = self.shapes[a], self.shapes[b]
        target = (max(sa[0], sb[0]), max(sa[1], sb[1]), max(sa[2], sb[2]))
        a = self.pad_to(f"{name}.pad_main", a, target)
        b = self.pad_to(f"{name}.pad_skip", b, target)
        self.nodes.append(helper.make_node("Add", [a, b], [name], name=name))
        self.shapes[name] = target
        return name


def build_onnx(net: DlibNet, *, doc: str = "", dynamic_batch: bool = True) -> onnx.ModelProto:
    check_structure(net)
    layers = net.layers
    g = _GraphBuilder()
    g.shapes[INPUT_NAME] = (3, CHIP_SIZE, CHIP_SIZE)

    # Stem: conv 7x7/2 (+ normalisation + affine folded), relu, max pool 3x3/2.
    stem = layers[0]
    stem_affine = layers[1]
    stem_pool = layers[3]
    assert isinstance(stem, Conv) and isinstance(stem_affine, Affine) and isinstance(stem_pool, Pool)
    conv1 = _fold_affine(_fold_input_normalisation(stem, net.means_rgb), stem_affine)
    x = g.conv("conv1", INPUT_NAME, conv1)
    x = g.unary("Relu", "conv1.relu", x)
    x = g.pool("pool1", x, stem_pool)

    # Residual blocks, matched against the token stream (check_structure guarantees it).
    tokens = "".join(_token(layer) for layer in layers)
    block_re = re.compile(f"{_DOWN}|{_RES}")
    pos = len(_STEM)
    block = 0
    while (m := block_re.match(tokens, pos)) is not None:
        block += 1
        name = f"block{block}"
        seg = layers[m.start() : m.end()]
        convs = [layer for layer in seg if isinstance(layer, Conv)]
        affines = [layer for layer in seg if isinstance(layer, Affine)]
        block_in = x
        y = g.conv(f"{name}.conv_a", block_in, _fold_affine(convs[0], affines[0]))
        y = g.unary("Relu", f"{name}.relu_a", y)
        y = g.conv(f"{name}.conv_b", y, _fold_affine(convs[1], affines[1]))
        if m.group(0) == _DOWN:
            skip_pool = next(layer for layer in seg if isinstance(layer, Pool))
            skip = g.pool(f"{name}.skip_pool", block_in, skip_pool)
        else:
            skip = block_in
        y = g.add(f"{name}.add", y, skip)
        x = g.unary("Relu", f"{name}.relu", y)
        pos = m.end()

    fc = layers[-1]
    assert isinstance(fc, Fc)
    x = g.unary("GlobalAveragePool", "gap", x)
    x = g.unary("Flatten", "flatten", x, axis=1)
    w = g.const("fc.weight", fc.weight)
    g.nodes.append(helper.make_node("MatMul", [x, w], [OUTPUT_NAME], name="fc"))

    batch: str | int = "N" if dynamic_batch else 1
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [batch, 3, CHIP_SIZE, CHIP_SIZE])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [batch, EMBEDDING_DIM])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="edgehr models/recipes/dlib_resnet.py",
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def convert(dat_path: Path, out_path: Path) -> str:
    """Write the float32 ONNX model; returns its sha256."""
    data = dat_path.read_bytes()
    net = parse_dat(data)
    doc = (
        "dlib face-recognition ResNet (dlib_face_recognition_resnet_model_v1.dat, "
        f"sha256 {hashlib.sha256(data).hexdigest()}, CC0, from face-recognition-models 0.3.0). "
        "Input: float32 N x 3 x 150 x 150 planar RGB 0..255 of a dlib-style face chip "
        "(get_face_chip size=150 padding=0.25). Output: raw 128-d descriptor, not normalised."
    )
    model = build_onnx(net, doc=doc)
    blob = model.SerializeToString(deterministic=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(out_path.suffix + ".tmp")
    tmp.write_bytes(blob)
    tmp.replace(out_path)  # never leave a half-written model under the final name
    return hashlib.sha256(blob).hexdigest()


def _default_dat() -> Path:
    import face_recognition_models

    return Path(face_recognition_models.face_recognition_model_location())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dat", type=Path, default=None, help="dlib .dat (default: face_recognition_models')")
    ap.add_argument("--out", type=Path, required=True, help="output .onnx path")
    args = ap.parse_args(argv)
    dat = args.dat or _default_dat()
    net = load_dat(dat)
    check_structure(net)
    n_conv = sum(isinstance(layer, Conv) for layer in net.layers)
    print(f"parsed {dat.name}: {n_conv} convolutions, {parameter_count(net):,} parameters, means {net.means_rgb}")
    digest = convert(dat, args.out)
    print(f"wrote {args.out} sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
