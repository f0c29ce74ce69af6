#!/usr/bin/env python3
"""Inference images/s of an exported ConvNet through Python's onnxruntime.

Usage: ort_infer.py MODEL.onnx BATCH THREADS [arena|no-arena] [SECONDS] -> prints images per
second (random inputs in [-0.5, 0.5], at least SECONDS (default 2) of runs after one warm-up
run). `no-arena` turns off the CPU memory arena and memory-pattern planning, as the pancseg
library does by default. Used by `pancseg-train bench train` and `bench inference`.
"""
import sys
import time

import numpy as np
import onnxruntime as ort


def main(path, batch, threads, arena=True, seconds=2.0):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    if not arena:
        so.enable_cpu_mem_arena = False
        so.enable_mem_pattern = False
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    inp = s.get_inputs()[0]
    shape = [batch] + list(inp.shape[1:])
    x = np.random.default_rng(3).uniform(-0.5, 0.5, shape).astype(np.float32)
    s.run(None, {inp.name: x})
    t = time.perf_counter()
    n = 0
    while time.perf_counter() - t < seconds or n < 3:
        s.run(None, {inp.name: x})
        n += 1
    print(f"{n * batch / (time.perf_counter() - t):.1f}")


if __name__ == "__main__":
    arena = len(sys.argv) < 5 or sys.argv[4] != "no-arena"
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), arena, seconds)
