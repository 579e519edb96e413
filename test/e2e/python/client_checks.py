"""Drives a live infergate with the official Triton Python client (tritonclient).

Usage: python client_checks.py --http HOST:PORT --grpc HOST:PORT CHECK [CHECK...]
Each check prints "ok <name>" or raises (non-zero exit, traceback names the failed assert).
The TypeScript e2e suite runs one process per check so each shows as its own test.
"""
import argparse
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

IDENTITY_DTYPES = {
    "BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "BYTES": np.object_,
}


def sample(datatype, shape, rng):
    shape = [1 if d < 0 else d for d in shape]
    if datatype == "BYTES":
        flat = np.array([("s%d-\u00e9" % i).encode("utf-8") for i in range(int(np.prod(shape)))], dtype=np.object_)
        return flat.reshape(shape)
    if datatype == "BOOL":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    dt = IDENTITY_DTYPES[datatype]
    if np.issubdtype(dt, np.integer):
        info = np.iinfo(dt)
        return rng.integers(max(info.min, -100), min(info.max, 100), size=shape, dtype=dt)
    return rng.standard_normal(size=shape).astype(dt)


def identity_models(client):
    out = []
    for m in client.get_model_repository_index():
        if m["name"].startswith("identity") and m.get("state") == "READY":
            out.append(m["name"])
    assert out, "no READY identity_* models in the repository"
    return sorted(set(out))


def check_health(a):
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    assert h.is_server_live() and h.is_server_ready()
    assert g.is_server_live() and g.is_server_ready()
    assert h.is_model_ready("digits") and g.is_model_ready("digits")
    assert not h.is_model_ready("no_such_model")


def check_metadata(a):
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    sm = h.get_server_metadata()
    assert sm["name"] and "binary_tensor_data" in sm["extensions"], sm
    gm = g.get_server_metadata()
    assert gm.name == sm["name"]
    md = h.get_model_metadata("digits")
    assert md["name"] == "digits" and md["inputs"][0]["datatype"] == "FP32", md
    gmd = g.get_model_metadata("digits")
    assert gmd.inputs[0].name == md["inputs"][0]["name"]
    cfg = h.get_model_config("digits")
    assert cfg["max_batch_size"] > 0 and cfg["input"][0]["dims"], cfg
    gcfg = g.get_model_config("digits", as_json=True)
    assert int(gcfg["config"]["max_batch_size"]) == cfg["max_batch_size"]


def roundtrip(a, binary):
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    rng = np.random.default_rng(7)
    for name in identity_models(h):
        md = h.get_model_metadata(name)
        arrays = {i["name"]: sample(i["datatype"], i["shape"], rng) for i in md["inputs"]}
        json_ok = all(i["datatype"] not in ("FP16", "BF16") for i in md["inputs"])
        if binary or json_ok:
            ins = []
            for i in md["inputs"]:
                x = httpclient.InferInput(i["name"], list(arrays[i["name"]].shape), i["datatype"])
                x.set_data_from_numpy(arrays[i["name"]], binary_data=binary)
                ins.append(x)
            outs = [httpclient.InferRequestedOutput(o["name"], binary_data=binary) for o in md["outputs"]]
            r = h.infer(name, ins, outputs=outs)
            check_outputs(name, md, arrays, r.as_numpy)
        gins = []
        for i in md["inputs"]:
            x = grpcclient.InferInput(i["name"], list(arrays[i["name"]].shape), i["datatype"])
            x.set_data_from_numpy(arrays[i["name"]])
            gins.append(x)
        r = g.infer(name, gins)
        check_outputs(name, md, arrays, r.as_numpy)


def as_bytes(x):
    return x.encode("utf-8") if isinstance(x, str) else bytes(x)


def check_outputs(name, md, arrays, get):
    # identity models map input i to output i
    for i, o in zip(md["inputs"], md["outputs"]):
        got = get(o["name"])
        want = arrays[i["name"]]
        assert got is not None, f"{name}: output {o['name']} missing"
        assert list(got.shape) == list(want.shape), f"{name}: shape {got.shape} != {want.shape}"
        if i["datatype"] == "BYTES":
            assert [as_bytes(x) for x in got.flatten()] == [as_bytes(x) for x in want.flatten()], name
        else:
            assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} != {want.dtype}"
            assert np.array_equal(got, want), f"{name}: values differ"


def check_infer_binary(a):
    roundtrip(a, True)


def check_infer_json(a):
    roundtrip(a, False)


def check_outputs_subset(a):
    h = httpclient.InferenceServerClient(a.http)
    md = h.get_model_metadata("simple")
    x0 = np.arange(16, dtype=np.int32).reshape(1, 16)
    x1 = np.ones((1, 16), dtype=np.int32)
    ins = [httpclient.InferInput("INPUT0", [1, 16], "INT32"), httpclient.InferInput("INPUT1", [1, 16], "INT32")]
    ins[0].set_data_from_numpy(x0)
    ins[1].set_data_from_numpy(x1)
    r = h.infer("simple", ins, outputs=[httpclient.InferRequestedOutput("OUTPUT1")])
    assert r.as_numpy("OUTPUT0") is None
    assert np.array_equal(r.as_numpy("OUTPUT1"), x0 - x1), md
    r = h.infer("simple", ins, outputs=[httpclient.InferRequestedOutput("OUTPUT0", class_count=3)])
    top = [x.decode() for x in r.as_numpy("OUTPUT0").flatten()]
    assert top[0].split(":")[:2] == ["16", "15"], top


def check_repository(a):
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    idx = h.get_model_repository_index()
    assert any(m["name"] == "digits" for m in idx), idx
    assert len(g.get_model_repository_index().models) == len(idx)
    h.unload_model("simple")
    assert not h.is_model_ready("simple")
    try:
        h.get_model_metadata("simple")
        raise AssertionError("metadata of an unloaded model must fail")
    except InferenceServerException as e:
        assert "Request for unknown model" in str(e) or "is not at ready state" in str(e), str(e)
    g.load_model("simple")
    assert h.is_model_ready("simple") and g.is_model_ready("simple")
    h.load_model("simple")
    assert h.is_model_ready("simple")


def check_statistics(a):
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    x = httpclient.InferInput("input", [1, 784], "FP32")
    x.set_data_from_numpy(np.zeros((1, 784), dtype=np.float32))
    before = h.get_inference_statistics("digits")["model_stats"][0]["inference_stats"]["success"]["count"]
    h.infer("digits", [x])
    s = h.get_inference_statistics("digits")
    assert len(s["model_stats"]) == 1, s
    assert s["model_stats"][0]["inference_stats"]["success"]["count"] == before + 1, s
    gs = g.get_inference_statistics("digits")
    assert gs.model_stats[0].inference_stats.success.count >= before + 1
    assert len(h.get_inference_statistics()["model_stats"]) >= 2


def check_errors(a):
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    for call in (lambda: h.get_model_metadata("no_such_model"), lambda: g.get_model_metadata("no_such_model")):
        try:
            call()
            raise AssertionError("unknown model must fail")
        except InferenceServerException as e:
            assert "Request for unknown model: 'no_such_model' is not found" in str(e), str(e)
    x = httpclient.InferInput("input", [1, 783], "FP32")
    x.set_data_from_numpy(np.zeros((1, 783), dtype=np.float32))
    try:
        h.infer("digits", [x])
        raise AssertionError("wrong shape must fail")
    except InferenceServerException as e:
        assert "unexpected shape for input 'input'" in str(e), str(e)
    gx = grpcclient.InferInput("input", [1, 784], "FP64")
    gx.set_data_from_numpy(np.zeros((1, 784), dtype=np.float64))
    try:
        g.infer("digits", [gx])
        raise AssertionError("wrong dtype must fail")
    except InferenceServerException as e:
        assert "data-type is 'FP64'" in str(e) and e.status() == "StatusCode.INVALID_ARGUMENT", str(e)
    assert h.is_server_ready()


def check_grpc_stream(a):
    import queue
    g = grpcclient.InferenceServerClient(a.grpc)
    q = queue.Queue()
    g.start_stream(callback=lambda result, error: q.put((result, error)))
    for i in range(3):
        x = grpcclient.InferInput("input", [1, 784] if i != 1 else [1, 5], "FP32")
        x.set_data_from_numpy(np.zeros((1, 784 if i != 1 else 5), dtype=np.float32))
        g.async_stream_infer("digits", [x], request_id=str(i))
    got = [q.get(timeout=10) for _ in range(3)]
    g.stop_stream()
    assert got[0][1] is None and got[0][0].get_response().id == "0"
    assert got[1][1] is not None and "unexpected shape" in str(got[1][1])
    assert got[2][1] is None and got[2][0].get_response().id == "2"


def check_cuda_shared_memory_declined(a):
    """CUDA shared memory is declined as clients expect (system shared memory: shm_checks.py)."""
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    assert h.get_cuda_shared_memory_status() == []
    h.unregister_cuda_shared_memory()
    g.unregister_cuda_shared_memory()
    for c in (h, g):
        try:
            c.register_cuda_shared_memory("r", b"\0" * 64, 0, 16)
            raise AssertionError("register must be declined")
        except InferenceServerException as e:
            assert e.status() in ("501", "StatusCode.UNIMPLEMENTED") and "not supported" in str(e), str(e)


def png_grey(pixels):
    """A greyscale 8-bit PNG of a 2-D uint8 array (zlib + crc32: no imaging library needed)."""
    import struct
    import zlib

    h, w = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def check_ensemble(a):
    """digits_png (ensemble: TypeScript PNG decode -> digits) through the official clients: a blank
    28x28 PNG answers exactly what `digits` answers for 784 zeros; bytes that are no image are a 400."""
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    assert h.get_model_metadata("digits_png")["platform"] == "ensemble"
    assert g.get_model_metadata("digits_png").platform == "ensemble"
    x = httpclient.InferInput("input", [1, 784], "FP32")
    x.set_data_from_numpy(np.zeros((1, 784), dtype=np.float32))
    want = h.infer("digits", [x]).as_numpy("probabilities")
    image = np.array([[png_grey(np.zeros((28, 28), dtype=np.uint8))]], dtype=np.object_)
    hi = httpclient.InferInput("IMAGE", [1, 1], "BYTES")
    hi.set_data_from_numpy(image)
    got = h.infer("digits_png", [hi]).as_numpy("probabilities")
    assert got.shape == (1, 10) and np.allclose(got, want, atol=1e-6), (got, want)
    gi = grpcclient.InferInput("IMAGE", [1, 1], "BYTES")
    gi.set_data_from_numpy(image)
    assert np.allclose(g.infer("digits_png", [gi]).as_numpy("probabilities"), want, atol=1e-6)
    bad = httpclient.InferInput("IMAGE", [1, 1], "BYTES")
    bad.set_data_from_numpy(np.array([[b"not an image"]], dtype=np.object_))
    try:
        h.infer("digits_png", [bad])
        raise AssertionError("bytes that are no image must be refused")
    except InferenceServerException as e:
        assert e.status() == "400" and "digits_png_decode" in str(e), (e.status(), str(e))


def main(scope):
    """Runs the `check_*` functions of `scope` named on the command line (other scripts share it)."""
    checks = {k[len("check_"):]: v for k, v in scope.items() if k.startswith("check_")}
    p = argparse.ArgumentParser()
    p.add_argument("--http", required=True)
    p.add_argument("--grpc", required=True)
    p.add_argument("checks", nargs="+", choices=sorted(checks))
    args = p.parse_args()
    for c in args.checks:
        checks[c](args)
        print("ok", c, flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main(globals())
