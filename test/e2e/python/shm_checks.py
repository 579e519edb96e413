"""Triton's system shared-memory extension through the official client (tritonclient).

Usage: python shm_checks.py --http HOST:PORT --grpc HOST:PORT CHECK [CHECK...]
Regions are made with tritonclient.utils.shared_memory (POSIX objects under /dev/shm) and run
through the 'simple' model (OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1, INT32 [1,16]),
as Triton's simple_{http,grpc}_shm_client.py examples do. Each check prints "ok <name>" or raises.
"""
import os

import client_checks  # the check runner (this script's folder is on sys.path)
import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
import tritonclient.utils.shared_memory as shm
from tritonclient.utils import InferenceServerException

# Keys unique to this process: parallel runs and leftovers never collide.
TAG = "ig%d" % os.getpid()
IN0 = np.arange(16, dtype=np.int32).reshape(1, 16)
IN1 = np.full((1, 16), 3, dtype=np.int32)
NBYTES = IN0.nbytes  # 64


def client(a, protocol):
    return httpclient.InferenceServerClient(a.http) if protocol == "http" else grpcclient.InferenceServerClient(a.grpc)


def module(protocol):
    return httpclient if protocol == "http" else grpcclient


def regions(protocol):
    """An input region holding INPUT0 then INPUT1, and an output region for both outputs."""
    ip = shm.create_shared_memory_region("in_" + protocol, "/%s_input_%s" % (TAG, protocol), 2 * NBYTES)
    op = shm.create_shared_memory_region("out_" + protocol, "/%s_output_%s" % (TAG, protocol), 2 * NBYTES)
    shm.set_shared_memory_region(ip, [IN0])
    shm.set_shared_memory_region(ip, [IN1], offset=NBYTES)
    return ip, op


def status_names(c, protocol):
    st = c.get_system_shared_memory_status()
    if protocol == "http":
        return sorted(r["name"] for r in st)
    return sorted(st.regions.keys())


def infer_in_shm(c, protocol, in_region, out_region):
    m = module(protocol)
    inputs = [m.InferInput("INPUT0", [1, 16], "INT32"), m.InferInput("INPUT1", [1, 16], "INT32")]
    inputs[0].set_shared_memory(in_region, NBYTES)
    inputs[1].set_shared_memory(in_region, NBYTES, offset=NBYTES)
    outputs = [m.InferRequestedOutput("OUTPUT0"), m.InferRequestedOutput("OUTPUT1")]
    outputs[0].set_shared_memory(out_region, NBYTES)
    outputs[1].set_shared_memory(out_region, NBYTES, offset=NBYTES)
    return c.infer("simple", inputs, outputs=outputs)


def check_results(result, op):
    out0 = result.get_output("OUTPUT0")
    shape = out0["shape"] if isinstance(out0, dict) else list(out0.shape)
    assert list(shape) == [1, 16], shape
    sums = shm.get_contents_as_numpy(op, np.int32, [1, 16])
    diffs = shm.get_contents_as_numpy(op, np.int32, [1, 16], offset=NBYTES)
    assert np.array_equal(sums, IN0 + IN1), sums
    assert np.array_equal(diffs, IN0 - IN1), diffs


def roundtrip(a, protocol):
    c = client(a, protocol)
    c.unregister_system_shared_memory()
    ip, op = regions(protocol)
    try:
        c.register_system_shared_memory("in_" + protocol, "/%s_input_%s" % (TAG, protocol), 2 * NBYTES)
        c.register_system_shared_memory("out_" + protocol, "/%s_output_%s" % (TAG, protocol), 2 * NBYTES)
        assert status_names(c, protocol) == ["in_" + protocol, "out_" + protocol], status_names(c, protocol)
        check_results(infer_in_shm(c, protocol, "in_" + protocol, "out_" + protocol), op)
        c.unregister_system_shared_memory("in_" + protocol)
        assert status_names(c, protocol) == ["out_" + protocol]
        c.unregister_system_shared_memory()
        assert status_names(c, protocol) == []
    finally:
        c.unregister_system_shared_memory()
        shm.destroy_shared_memory_region(ip)
        shm.destroy_shared_memory_region(op)


def check_system_http(a):
    roundtrip(a, "http")


def check_system_grpc(a):
    roundtrip(a, "grpc")


def check_cross_protocol(a):
    """One region table: registered over HTTP, used over gRPC, listed by both."""
    h, g = client(a, "http"), client(a, "grpc")
    h.unregister_system_shared_memory()
    ip, op = regions("x")
    try:
        h.register_system_shared_memory("in_x", "/%s_input_x" % TAG, 2 * NBYTES)
        g.register_system_shared_memory("out_x", "/%s_output_x" % TAG, 2 * NBYTES)
        assert status_names(h, "http") == status_names(g, "grpc") == ["in_x", "out_x"]
        check_results(infer_in_shm(g, "grpc", "in_x", "out_x"), op)
        check_results(infer_in_shm(h, "http", "in_x", "out_x"), op)
    finally:
        h.unregister_system_shared_memory()
        shm.destroy_shared_memory_region(ip)
        shm.destroy_shared_memory_region(op)


def check_reuse_infer_objects(a):
    """As Triton's reuse_infer_objects example: the same InferInput/InferRequestedOutput objects,
    switched between shared memory and plain data from one call to the next."""
    for protocol in ("http", "grpc"):
        c, m = client(a, protocol), module(protocol)
        c.unregister_system_shared_memory()
        ip, op = regions("r" + protocol)
        try:
            c.register_system_shared_memory("in", "/%s_input_r%s" % (TAG, protocol), 2 * NBYTES)
            c.register_system_shared_memory("out", "/%s_output_r%s" % (TAG, protocol), 2 * NBYTES)
            inputs = [m.InferInput("INPUT0", [1, 16], "INT32"), m.InferInput("INPUT1", [1, 16], "INT32")]
            outputs = [m.InferRequestedOutput("OUTPUT0"), m.InferRequestedOutput("OUTPUT1")]
            for round_ in range(3):
                inputs[0].set_shared_memory("in", NBYTES)
                inputs[1].set_shared_memory("in", NBYTES, offset=NBYTES)
                outputs[0].set_shared_memory("out", NBYTES)
                outputs[1].set_shared_memory("out", NBYTES, offset=NBYTES)
                check_results(c.infer("simple", inputs, outputs=outputs), op)
                inputs[0].set_data_from_numpy(IN0)
                inputs[1].set_data_from_numpy(IN1 + round_)
                outputs[0].unset_shared_memory()
                outputs[1].unset_shared_memory()
                r = c.infer("simple", inputs, outputs=outputs)
                assert np.array_equal(r.as_numpy("OUTPUT0"), IN0 + IN1 + round_)
                assert np.array_equal(r.as_numpy("OUTPUT1"), IN0 - IN1 - round_)
        finally:
            c.unregister_system_shared_memory()
            shm.destroy_shared_memory_region(ip)
            shm.destroy_shared_memory_region(op)


def refused(fn, *texts, status=None):
    try:
        fn()
    except InferenceServerException as e:
        for t in texts:
            assert t in str(e), "%r not in %r" % (t, str(e))
        if status is not None:
            assert str(e.status()) in status, (e.status(), str(e))
        return
    raise AssertionError("expected a refusal containing %r" % (texts,))


def check_errors(a):
    """Bad input through the front door: Triton's texts and statuses."""
    for protocol in ("http", "grpc"):
        c, m = client(a, protocol), module(protocol)
        not_found = ("404",) if protocol == "http" else ("StatusCode.NOT_FOUND",)
        invalid = ("400",) if protocol == "http" else ("StatusCode.INVALID_ARGUMENT",)
        c.unregister_system_shared_memory()
        ip, op = regions("e" + protocol)
        link = "/dev/shm/%s_link_%s" % (TAG, protocol)
        os.symlink("/etc/hostname", link)
        try:
            key = "/%s_input_e%s" % (TAG, protocol)
            c.register_system_shared_memory("in", key, 2 * NBYTES)
            refused(lambda: c.register_system_shared_memory("in", key, NBYTES), "shared memory region 'in' already in manager")
            refused(
                lambda: c.register_system_shared_memory("big", key, NBYTES, offset=2 * NBYTES),
                "failed to register shared memory region 'big': invalid args",
                status=invalid,
            )
            refused(
                lambda: c.register_system_shared_memory("lnk", "/%s_link_%s" % (TAG, protocol), 4),
                "Unable to open shared memory region",
                "symbolic link",
                status=invalid,
            )
            refused(
                lambda: c.register_system_shared_memory("esc", "/../../etc/passwd", 4),
                "Unable to open shared memory region",
                status=invalid,
            )
            refused(lambda: c.get_system_shared_memory_status("nope"), "Unable to find system shared memory region: 'nope'")
            inputs = [m.InferInput("INPUT0", [1, 16], "INT32"), m.InferInput("INPUT1", [1, 16], "INT32")]
            inputs[0].set_shared_memory("nowhere", NBYTES)
            inputs[1].set_data_from_numpy(IN1)
            refused(
                lambda: c.infer("simple", inputs),
                "Unable to find shared memory region: 'nowhere'",
                status=not_found,
            )
            inputs[0].set_shared_memory("in", NBYTES, offset=NBYTES + 4)
            refused(
                lambda: c.infer("simple", inputs),
                "Invalid offset + byte size for shared memory region: 'in'",
                status=invalid,
            )
            # A fresh input: set_shared_memory keeps an earlier non-zero offset when given 0.
            inputs[0] = m.InferInput("INPUT0", [1, 16], "INT32")
            inputs[0].set_shared_memory("in", 2 * NBYTES)
            refused(
                lambda: c.infer("simple", inputs),
                "input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 128",
                status=invalid,
            )
            inputs[0] = m.InferInput("INPUT0", [1, 16], "INT32")
            inputs[0].set_shared_memory("in", NBYTES)
            out = m.InferRequestedOutput("OUTPUT0")
            out.set_shared_memory("in", 32)
            refused(
                lambda: c.infer("simple", inputs, outputs=[out]),
                "shared memory size specified with the request for output 'OUTPUT0' (32 bytes) "
                "should be at least 64 bytes to hold the results",
            )
            refused(lambda: c.register_cuda_shared_memory("cuda", b"\0" * 64, 0, 64), "not supported")
            assert status_names(c, protocol) == ["in"]
        finally:
            os.unlink(link)
            c.unregister_system_shared_memory()
            shm.destroy_shared_memory_region(ip)
            shm.destroy_shared_memory_region(op)


if __name__ == "__main__":
    client_checks.main(globals())
