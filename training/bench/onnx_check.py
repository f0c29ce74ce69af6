#!/usr/bin/env python3
"""Validates exported ConvNets with the ONNX reference checker.

Usage: onnx_check.py MODEL.onnx [...]
Runs onnx.checker.check_model(full_check=True) (structure, opset and shape inference) on each
file and prints its opset, input and output shapes. Exits non-zero on the first failure.
"""
import sys

import onnx


def describe(vi):
    dims = [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
    return f"{vi.name}{dims}"


def main(paths):
    if not paths:
        print(__doc__)
        return 2
    for p in paths:
        m = onnx.load(p)
        onnx.checker.check_model(m, full_check=True)
        opset = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
        print(f"{p}: ok (opset {opset[0]}, {describe(m.graph.input[0])} -> {describe(m.graph.output[0])})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
