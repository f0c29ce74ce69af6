#!/usr/bin/env python3
"""Does 8-bit quantisation make a bundle's network faster on this CPU?

Quantises one ONNX network of a bundle with ONNX Runtime's static QDQ quantiser (per-channel
int8 weights, uint8 activations, calibrated on random inputs: a speed check, not a model to
ship) and times float and int8 inference on the same batch of 32 inputs in this process, with
2 intra-op threads, twice each, alternating. Prints the per-input times, their ratio and the
largest difference of the pancreas probability.

Usage: python3 training/bench/int8_check.py models/default/r2.onnx 2,64,64
       python3 training/bench/int8_check.py models/default/p.onnx 3,32,32
Needs Python's onnxruntime and onnx (not dependencies of the project).
"""
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process


def main():
    model, shape = sys.argv[1], [int(v) for v in sys.argv[2].split(",")]
    rng = np.random.default_rng(0)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    fp = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    name = fp.get_inputs()[0].name
    x = rng.standard_normal([32] + shape).astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.left = 8

        def get_next(self):
            if self.left == 0:
                return None
            self.left -= 1
            return {name: rng.standard_normal([32] + shape).astype(np.float32)}

    with tempfile.TemporaryDirectory() as tmp:
        quant_pre_process(model, f"{tmp}/pre.onnx")
        quantize_static(f"{tmp}/pre.onnx", f"{tmp}/int8.onnx", Reader(),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        q8 = ort.InferenceSession(f"{tmp}/int8.onnx", so, providers=["CPUExecutionProvider"])

    def per_input_ms(sess, n=30):
        sess.run(None, {name: x})
        t = time.perf_counter()
        for _ in range(n):
            sess.run(None, {name: x})
        return (time.perf_counter() - t) / n / len(x) * 1e3

    for _ in range(2):
        a, b = per_input_ms(fp), per_input_ms(q8)
        print(f"{model}: float {a:.3f} ms/input, int8 {b:.3f} ms/input, float/int8 {a / b:.2f}")
    pa = fp.run(None, {name: x})[0][:, 1]
    pb = q8.run(None, {name: x})[0][:, 1]
    print(f"largest probability difference {np.abs(pa - pb).max():.4f}")


if __name__ == "__main__":
    main()
