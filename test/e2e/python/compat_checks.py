"""Triton compatibility round 2 (issue #21 items 1, 4, 5, 6, 7) with the official tritonclient.

Usage: python compat_checks.py --http HOST:PORT --grpc HOST:PORT CHECK [CHECK...]
The server runs the models test/e2e/compat.test.ts generates: `cast_string` (BYTES [-1, 2] cast to
INT64), `echo_int64` (INT64 identity), `scores` (FP32 identity for classification) and
`reshaped` (FP32 [-1, 4] seen by clients as [-1, 1, 4, 1] through `reshape`).
Each check prints "ok <name>" or raises.
"""
import client_checks  # the check runner (this script's folder is on sys.path)
import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def clients(a):
    return httpclient.InferenceServerClient(a.http), grpcclient.InferenceServerClient(a.grpc)


def check_string_cast_model(a):
    # Loaded (the generated warm-up sent "0", not ""), ready, and serving.
    h, g = clients(a)
    assert h.is_server_ready() and h.is_model_ready("cast_string")
    data = np.array([[b"12", b"-3"]], dtype=np.object_)
    for mod, c in ((httpclient, h), (grpcclient, g)):
        i = mod.InferInput("x", [1, 2], "BYTES")
        i.set_data_from_numpy(data)
        out = c.infer("cast_string", [i]).as_numpy("y")
        assert out.tolist() == [[12, -3]], out


def check_int64_json_exact(a):
    h, _ = clients(a)
    big = np.array([[2**63 - 1, -(2**63), 9007199254740993]], dtype=np.int64)
    i = httpclient.InferInput("x", [1, 3], "INT64")
    i.set_data_from_numpy(big, binary_data=False)
    o = httpclient.InferRequestedOutput("y", binary_data=False)
    out = h.infer("echo_int64", [i], outputs=[o]).as_numpy("y")
    assert out.tolist() == big.tolist(), out


def check_classification_text(a):
    h, g = clients(a)
    v = np.array([[0.25, 1.0, 0.5]], dtype=np.float32)
    for mod, c in ((httpclient, h), (grpcclient, g)):
        i = mod.InferInput("x", [1, 3], "FP32")
        i.set_data_from_numpy(v)
        o = mod.InferRequestedOutput("y", class_count=2)
        out = c.infer("scores", [i], outputs=[o]).as_numpy("y")
        got = [s.decode() if isinstance(s, bytes) else s for s in out.flatten()]
        assert got == ["1.000000:1", "0.500000:2"], got


def check_output_reshape(a):
    h, g = clients(a)
    v = np.arange(4, dtype=np.float32).reshape(1, 4)
    for mod, c in ((httpclient, h), (grpcclient, g)):
        i = mod.InferInput("x", [1, 4], "FP32")
        i.set_data_from_numpy(v)
        out = c.infer("reshaped", [i]).as_numpy("y")
        assert out.shape == (1, 1, 4, 1), out.shape


def check_config_override_text(a):
    h, g = clients(a)
    for c in (h, g):
        try:
            c.load_model("echo_int64", config='{"max_batch_size": 8')
        except InferenceServerException as e:
            assert "failed to load" in e.message(), e.message()
        else:
            raise AssertionError("a broken config override loaded")


if __name__ == "__main__":
    client_checks.main(globals())
