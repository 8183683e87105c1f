"""An ONNX graph run by torch, its float weights trainable, and written back into the graph.

onnx2torch does this in general but requires torchvision, whose wheels pin a torch other than
the one this project installs; PP-OCR's recognizer uses two dozen plain operators, run here.
Batch normalisation keeps the statistics it was trained with: a fine-tune on a few thousand
lines in small batches would only blur them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class UnsupportedGraph(ValueError):
    """The ONNX graph uses an operator or attribute this runner does not implement."""


def _attrs(node) -> dict[str, Any]:
    import onnx

    out = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        out[attribute.name] = value.decode() if isinstance(value, bytes) else value
    return out


def _same_pads(size: list[int], kernel: list[int], stride: list[int], upper: bool) -> list[int]:
    """ONNX pads (begins then ends) for auto_pad SAME_UPPER / SAME_LOWER."""
    begins, ends = [], []
    for n, k, s in zip(size, kernel, stride):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        small, large = total // 2, total - total // 2
        begins.append(small if upper else large)
        ends.append(large if upper else small)
    return begins + ends


def _padded(x, attrs: dict, kernel: list[int], value: float = 0.0):
    """x padded as the node's pads or auto_pad say (torch pads the last dimension first)."""
    import torch.nn.functional as F

    strides = list(attrs.get("strides", [1] * len(kernel)))
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_pads(list(x.shape[2:]), kernel, strides, auto == "SAME_UPPER")
    elif auto in ("NOTSET", "VALID"):
        pads = list(attrs.get("pads", [0] * 2 * len(kernel))) if auto == "NOTSET" else [0] * 2 * len(kernel)
    else:
        raise UnsupportedGraph(f"auto_pad {auto!r}")
    if any(pads):
        half = len(kernel)
        torch_pads = []
        for axis in reversed(range(half)):
            torch_pads += [pads[axis], pads[axis + half]]
        x = F.pad(x, torch_pads, value=value)
    return x, strides


def graph_module(model):
    """A torch module computing `model`'s graph; float initializers of more than one value are
    its parameters, batch-norm statistics its buffers, everything else constants."""
    import torch
    from onnx import numpy_helper

    class GraphModule(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            graph = model.graph
            self.nodes = [(n.op_type, list(n.input), list(n.output), _attrs(n)) for n in graph.node]
            self.input_name = graph.input[0].name
            self.output_names = [o.name for o in graph.output]
            statistics = {n.input[i] for n in graph.node if n.op_type == "BatchNormalization" for i in (3, 4)}
            self.slots: dict[str, tuple[str, str]] = {}  # initializer name -> (kind, attribute)
            self.constants: dict[str, Any] = {}
            for number, init in enumerate(graph.initializer):
                array = numpy_helper.to_array(init)
                if array.dtype.kind == "f" and array.size > 1:
                    tensor = torch.from_numpy(array.astype(np.float32).copy())
                    key = f"w{number}"
                    if init.name in statistics:
                        self.register_buffer(key, tensor)
                        self.slots[init.name] = ("buffer", key)
                    else:
                        self.register_parameter(key, torch.nn.Parameter(tensor))
                        self.slots[init.name] = ("parameter", key)
                else:
                    self.constants[init.name] = torch.from_numpy(np.array(array))
            unknown = {op for op, *_ in self.nodes} - set(_OPS)
            if unknown:
                raise UnsupportedGraph(f"operators not supported: {', '.join(sorted(unknown))}")

        def value(self, name: str, env: dict):
            if name in env:
                return env[name]
            if name in self.slots:
                return getattr(self, self.slots[name][1])
            return self.constants[name]

        def forward(self, x):
            env = {self.input_name: x}
            for op, inputs, outputs, attrs in self.nodes:
                args = [self.value(name, env) if name else None for name in inputs]
                result = _OPS[op](args, attrs)
                if not isinstance(result, tuple):
                    result = (result,)
                for name, value in zip(outputs, result):
                    env[name] = value
            outs = [env[name] for name in self.output_names]
            return outs[0] if len(outs) == 1 else tuple(outs)

        def write_weights(self, target) -> None:
            """Write this module's weights into `target` (the same graph), in place."""
            by_name = {init.name: init for init in target.graph.initializer}
            for name, (_, key) in self.slots.items():
                array = getattr(self, key).detach().cpu().numpy()
                by_name[name].CopyFrom(numpy_helper.from_array(array.astype(np.float32), name))

    return GraphModule()


def _ints(value) -> list[int]:
    return [int(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]


def _conv(args, attrs):
    import torch.nn.functional as F

    x, weight = args[0], args[1]
    bias = args[2] if len(args) > 2 else None
    kernel = list(weight.shape[2:])
    x, strides = _padded(x, attrs, kernel)
    return F.conv2d(x, weight, bias, stride=strides, dilation=attrs.get("dilations", [1, 1]), groups=attrs.get("group", 1))


def _max_pool(args, attrs):
    import torch.nn.functional as F

    kernel = list(attrs["kernel_shape"])
    x, strides = _padded(args[0], attrs, kernel, value=float("-inf"))
    return F.max_pool2d(x, kernel, strides, ceil_mode=bool(attrs.get("ceil_mode", 0)))


def _average_pool(args, attrs):
    import torch.nn.functional as F

    kernel = list(attrs["kernel_shape"])
    if any(attrs.get("pads", [])) or attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise UnsupportedGraph("padded AveragePool")
    return F.avg_pool2d(args[0], kernel, list(attrs.get("strides", kernel)), ceil_mode=bool(attrs.get("ceil_mode", 0)))


def _batch_norm(args, attrs):
    import torch.nn.functional as F

    x, scale, bias, mean, var = args
    return F.batch_norm(x, mean, var, scale, bias, training=False, eps=attrs.get("epsilon", 1e-5))


def _reshape(args, attrs):
    x, shape = args
    shape = _ints(shape)
    shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _slice(args, attrs):
    x = args[0]
    starts, ends = _ints(args[1]), _ints(args[2])
    axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else list(range(len(starts)))
    steps = _ints(args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.dim()
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size = x.shape[axis]
        index[axis] = slice(max(-size, min(start, size)), max(-size - 1, min(end, size)), step)
    return x[tuple(index)]


def _squeeze(args, attrs):
    axes = attrs.get("axes") or (_ints(args[1]) if len(args) > 1 else None)
    x = args[0]
    for axis in sorted((a % x.dim() for a in axes), reverse=True) if axes else []:
        x = x.squeeze(axis)
    return x if axes else x.squeeze()


def _unsqueeze(args, attrs):
    axes = attrs.get("axes") or _ints(args[1])
    x = args[0]
    for axis in sorted(axes):
        x = x.unsqueeze(axis if axis >= 0 else axis + x.dim() + 1)
    return x


def _reduce_mean(args, attrs):
    return args[0].mean(dim=list(attrs["axes"]), keepdim=bool(attrs.get("keepdims", 1)))


def _shape(args, attrs):
    import torch

    return torch.tensor(list(args[0].shape), dtype=torch.int64)


def _concat(args, attrs):
    import torch

    return torch.cat(list(args), dim=attrs["axis"])


def _hard_sigmoid(args, attrs):
    return (args[0] * attrs.get("alpha", 0.2) + attrs.get("beta", 0.5)).clamp(0.0, 1.0)


def _erf(args, attrs):
    import torch

    return torch.erf(args[0])


def _pow(args, attrs):
    exponent = args[1]
    if exponent.numel() == 1 and float(exponent) == 2.0:
        return args[0] * args[0]
    return args[0] ** exponent


_OPS = {
    "Conv": _conv,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "BatchNormalization": _batch_norm,
    "Relu": lambda a, _: a[0].relu(),
    "Sigmoid": lambda a, _: a[0].sigmoid(),
    "HardSigmoid": _hard_sigmoid,
    "Erf": _erf,
    "Identity": lambda a, _: a[0],
    "Add": lambda a, _: a[0] + a[1],
    "Sub": lambda a, _: a[0] - a[1],
    "Mul": lambda a, _: a[0] * a[1],
    "Div": lambda a, _: a[0] / a[1],
    "Pow": _pow,
    "Sqrt": lambda a, _: a[0].sqrt(),
    "MatMul": lambda a, _: a[0] @ a[1],
    "Softmax": lambda a, attrs: a[0].softmax(dim=attrs.get("axis", -1)),
    "Transpose": lambda a, attrs: a[0].permute(*attrs["perm"]),
    "Reshape": _reshape,
    "Slice": _slice,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "ReduceMean": _reduce_mean,
    "Shape": _shape,
    "Concat": _concat,
}
