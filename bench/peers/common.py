"""Shared by the peer servers of bench/compare.ts: argument parsing and the onnxruntime session.

Each peer serves one ONNX model under one name, loaded the way a user of that stack would load
it (onnxruntime defaults), on loopback ports given by the benchmark.
"""
import argparse

import numpy as np
import onnxruntime as ort

DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "UINT8": np.uint8, "BOOL": np.bool_}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--model-path", required=True)
    p.add_argument("--model-name", required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--grpc-port", type=int, default=0)
    p.add_argument("--metrics-port", type=int, default=0)
    p.add_argument("--max-batch", type=int, default=0)
    p.add_argument("--max-queue-delay-us", type=int, default=0)
    return p.parse_args()


def session(path: str) -> ort.InferenceSession:
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def datatype_of(arr: np.ndarray) -> str:
    return NAMES.get(arr.dtype, "FP32")
