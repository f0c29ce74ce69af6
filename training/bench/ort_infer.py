#!/usr/bin/env python3
"""Inference images/s of an exported ConvNet through Python's onnxruntime.

Usage: ort_infer.py MODEL.onnx BATCH THREADS -> prints images per second (random inputs in
[-0.5, 0.5], at least 2 s of runs after one warm-up run). Used by `pancseg-train bench train`.
"""
import sys
import time

import numpy as np
import onnxruntime as ort


def main(path, batch, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    inp = s.get_inputs()[0]
    shape = [batch] + list(inp.shape[1:])
    x = np.random.default_rng(3).uniform(-0.5, 0.5, shape).astype(np.float32)
    s.run(None, {inp.name: x})
    t = time.perf_counter()
    n = 0
    while time.perf_counter() - t < 2.0 or n < 3:
        s.run(None, {inp.name: x})
        n += 1
    print(f"{n * batch / (time.perf_counter() - t):.1f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
