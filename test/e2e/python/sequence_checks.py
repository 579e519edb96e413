"""The official Triton client (tritonclient) running the simple_sequence and simple_dyna_sequence
example flows against a live infergate serving:
  acc                          OUTPUT = INPUT + the sequence's implicit state (an accumulator)
  simple_dyna_sequence         OUTPUT = INPUT + START + END * CORRID (UINT64 CORRID control)
  simple_string_dyna_sequence  accumulates INPUT, END adds int(CORRID) (STRING CORRID control)

Usage: python sequence_checks.py --http HOST:PORT --grpc HOST:PORT CHECK [CHECK...]
Each check prints "ok <name>" or raises.
"""
import queue
from functools import partial

import client_checks  # the check runner (this script's folder is on sys.path)
import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

VALUES = [11, 7, 5, 3, 2, 0, 1]


def expected(values):
    acc, out = 0, []
    for v in values:
        acc += v
        out.append(acc)
    return out


def one(mod, client, seq_id, value, start, end):
    x = mod.InferInput("INPUT", [1, 1], "INT32")
    x.set_data_from_numpy(np.array([[value]], dtype=np.int32))
    r = client.infer("acc", [x], sequence_id=seq_id, sequence_start=start, sequence_end=end)
    return int(r.as_numpy("OUTPUT")[0][0])


def sync_flow(mod, client, ids):
    # Two sequences interleaved, as simple_*_sequence_sync_infer_client.py does.
    got = {i: [] for i in ids}
    last = len(VALUES) - 1
    for k, v in enumerate(VALUES):
        for n, i in enumerate(ids):
            got[i].append(one(mod, client, i, v * (n + 1), k == 0, k == last))
    for n, i in enumerate(ids):
        assert got[i] == expected([v * (n + 1) for v in VALUES]), (i, got[i])


def errors(mod, client):
    x = mod.InferInput("INPUT", [1, 1], "INT32")
    x.set_data_from_numpy(np.array([[1]], dtype=np.int32))
    try:
        client.infer("acc", [x])
        raise AssertionError("a request without sequence id was answered")
    except InferenceServerException as e:
        assert "must specify a non-zero or non-empty correlation ID" in e.message(), e.message()
    try:
        client.infer("acc", [x], sequence_id=424242, sequence_end=True)
        raise AssertionError("an END for an unknown sequence was answered")
    except InferenceServerException as e:
        assert "must specify the START flag on the first request of the sequence" in e.message(), e.message()


# Proves: HTTP sync infer runs two interleaved accumulator sequences (numeric and string ids) and
# answers the missing-id and END-without-START errors with Triton's texts.
def check_http_sync(a):
    c = httpclient.InferenceServerClient(a.http)
    sync_flow(httpclient, c, [1000, 1001])
    sync_flow(httpclient, c, ["seq-a", "seq-b"])
    errors(httpclient, c)


# Proves: the same over gRPC unary ModelInfer.
def check_grpc_sync(a):
    c = grpcclient.InferenceServerClient(a.grpc)
    sync_flow(grpcclient, c, [2000, 2001])
    sync_flow(grpcclient, c, ["g-a", "g-b"])
    errors(grpcclient, c)


def async_flow(requests_for_step, ids):
    # Two sequences interleaved, each step sent to both sequences with async_infer before waiting
    # on either: a sequence's next request goes out only once its previous one is answered (as
    # any client must order a sequence), while the two sequences are in flight together.
    got = {i: [] for i in ids}
    last = len(VALUES) - 1
    for k, v in enumerate(VALUES):
        pending = [(i, requests_for_step(i, v * (n + 1), k == 0, k == last)) for n, i in enumerate(ids)]
        for i, wait in pending:
            got[i].append(wait())
    for n, i in enumerate(ids):
        assert got[i] == expected([v * (n + 1) for v in VALUES]), (i, got[i])


# Proves: HTTP async_infer (the client's thread pool, futures read with get_result()) keeps two
# concurrent sequences apart, numeric and string ids, and a failed async request raises from
# get_result() with Triton's text.
def check_http_async(a):
    c = httpclient.InferenceServerClient(a.http, concurrency=4)

    def send(seq_id, value, start, end):
        x = httpclient.InferInput("INPUT", [1, 1], "INT32")
        x.set_data_from_numpy(np.array([[value]], dtype=np.int32))
        req = c.async_infer("acc", [x], sequence_id=seq_id, sequence_start=start, sequence_end=end)
        return lambda: int(req.get_result().as_numpy("OUTPUT")[0][0])

    async_flow(send, [1100, 1101])
    async_flow(send, ["ha-a", "ha-b"])
    x = httpclient.InferInput("INPUT", [1, 1], "INT32")
    x.set_data_from_numpy(np.array([[1]], dtype=np.int32))
    try:
        c.async_infer("acc", [x], sequence_id=424243, sequence_end=True).get_result()
        raise AssertionError("an END for an unknown sequence was answered")
    except InferenceServerException as e:
        assert "must specify the START flag on the first request of the sequence" in e.message(), e.message()
    c.close()


# Proves: gRPC async_infer (unary calls answered through a callback) keeps two concurrent
# sequences apart, numeric and string ids, and a refused request reaches the callback as its error.
def check_grpc_async(a):
    c = grpcclient.InferenceServerClient(a.grpc)

    def send(seq_id, value, start, end):
        x = grpcclient.InferInput("INPUT", [1, 1], "INT32")
        x.set_data_from_numpy(np.array([[value]], dtype=np.int32))
        q = queue.Queue()
        c.async_infer("acc", [x], partial(lambda q, result, error: q.put((result, error)), q),
                      sequence_id=seq_id, sequence_start=start, sequence_end=end)

        def wait():
            r, e = q.get(timeout=30)
            assert e is None, e
            return int(r.as_numpy("OUTPUT")[0][0])
        return wait

    async_flow(send, [2100, 2101])
    async_flow(send, ["ga-a", "ga-b"])
    x = grpcclient.InferInput("INPUT", [1, 1], "INT32")
    x.set_data_from_numpy(np.array([[1]], dtype=np.int32))
    q = queue.Queue()
    c.async_infer("acc", [x], partial(lambda q, result, error: q.put((result, error)), q),
                  sequence_id=424244, sequence_end=True)
    r, e = q.get(timeout=30)
    assert r is None and e is not None, (r, e)
    assert "must specify the START flag on the first request of the sequence" in e.message(), e.message()
    c.close()


# Proves: over one ModelStreamInfer stream, every request of two sequences sent before any answer
# comes back per sequence in order, each answer carrying its request id.
def check_grpc_stream(a):
    c = grpcclient.InferenceServerClient(a.grpc)
    results = queue.Queue()
    c.start_stream(callback=partial(lambda q, result, error: q.put((result, error)), results))
    ids = [3000, "s-3001"]
    last = len(VALUES) - 1
    sent = 0
    for k, v in enumerate(VALUES):
        for n, i in enumerate(ids):
            x = grpcclient.InferInput("INPUT", [1, 1], "INT32")
            x.set_data_from_numpy(np.array([[v * (n + 1)]], dtype=np.int32))
            c.async_stream_infer("acc", [x], request_id="%s:%d" % (i, k), sequence_id=i,
                                 sequence_start=k == 0, sequence_end=k == last)
            sent += 1
    got = {str(i): [None] * len(VALUES) for i in ids}
    for _ in range(sent):
        r, e = results.get(timeout=30)
        assert e is None, e
        seq, k = r.get_response().id.rsplit(":", 1)
        got[seq][int(k)] = int(r.as_numpy("OUTPUT")[0][0])
    c.stop_stream()
    for n, i in enumerate(ids):
        assert got[str(i)] == expected([v * (n + 1) for v in VALUES]), (i, got[str(i)])


# --- simple_dyna_sequence: the official simple_{http,grpc}_sequence_*_client.py -d flows. ---
# Three sequences as the examples send them: ids 1000 and 1001 on simple_dyna_sequence (UINT64
# CORRID), and the string id "1002" on simple_string_dyna_sequence (STRING CORRID).
DYNA_INT, DYNA_STR = "simple_dyna_sequence", "simple_string_dyna_sequence"


def dyna_sequences(offset):
    id0, id1, sid = 1000 + offset * 2, 1001 + offset * 2, str(1002 + offset)
    return [(DYNA_INT, id0, [0] + VALUES), (DYNA_INT, id1, [100] + [-v for v in VALUES]),
            (DYNA_STR, sid, [20] + [-v for v in VALUES])]


def dyna_assert(seqs, results):
    # The examples' assertions verbatim: the int model answers INPUT + 1 on START and INPUT
    # after; the string model accumulates from its START value; the END request (value 1) of each
    # sequence adds its correlation ID.
    (_, id0, _), (_, id1, _), (_, sid, _) = seqs
    r0, r1, rs = results[id0], results[id1], results[sid]
    assert len(r0) == len(r1) == len(rs) == len(VALUES) + 1, (r0, r1, rs)
    for i in range(len(r0)):
        e0 = 1 if i == 0 else VALUES[i - 1]
        e1 = 101 if i == 0 else VALUES[i - 1] * -1
        es = 20 if i == 0 else VALUES[i - 1] * -1 + rs[i - 1]
        if i != 0 and VALUES[i - 1] == 1:
            e0 += id0
            e1 += id1
            es += int(sid)
        assert (r0[i], r1[i], rs[i]) == (e0, e1, es), (i, (r0[i], r1[i], rs[i]), (e0, e1, es))


def dyna_sync(mod, client, offset):
    seqs = dyna_sequences(offset)
    results = {}
    for model, seq_id, values in seqs:  # one sequence after the other, as sync_send does
        out = results[seq_id] = []
        for count, v in enumerate(values, 1):
            x = mod.InferInput("INPUT", [1, 1], "INT32")
            x.set_data_from_numpy(np.full([1, 1], v, dtype=np.int32))
            r = client.infer(model, [x], outputs=[mod.InferRequestedOutput("OUTPUT")], sequence_id=seq_id,
                             sequence_start=count == 1, sequence_end=count == len(values))
            out.append(int(r.as_numpy("OUTPUT")[0][0]))
    dyna_assert(seqs, results)


# Proves: simple_http_sequence_sync_infer_client.py -d passes: START, END and READY controls and
# the correlation ID reach the model as UINT64 (numeric ids) and as STRING (a string id), with
# implicit state alongside the controls on the string model.
def check_dyna_http_sync(a):
    dyna_sync(httpclient, httpclient.InferenceServerClient(a.http), 0)


# Proves: simple_grpc_sequence_sync_infer_client.py -d passes (the same over gRPC unary).
def check_dyna_grpc_sync(a):
    dyna_sync(grpcclient, grpcclient.InferenceServerClient(a.grpc), 10)


# Proves: simple_grpc_sequence_stream_infer_client.py -d passes: all three sequences are written
# to one stream before any answer is read, and each sequence's answers come back in its order
# (the example appends them as they arrive) with the dyna values.
def check_dyna_grpc_stream(a):
    seqs = dyna_sequences(20)
    results = {str(seq_id): [] for _, seq_id, _ in seqs}
    got = queue.Queue()
    with grpcclient.InferenceServerClient(a.grpc) as c:
        c.start_stream(callback=partial(lambda q, result, error: q.put((result, error)), got))
        for model, seq_id, values in seqs:
            for count, v in enumerate(values, 1):
                x = grpcclient.InferInput("INPUT", [1, 1], "INT32")
                x.set_data_from_numpy(np.full([1, 1], v, dtype=np.int32))
                c.async_stream_infer(model, [x], outputs=[grpcclient.InferRequestedOutput("OUTPUT")],
                                     request_id="{}_{}".format(seq_id, count), sequence_id=seq_id,
                                     sequence_start=count == 1, sequence_end=count == len(values))
        for _ in range(sum(len(v) for _, _, v in seqs)):
            r, e = got.get(timeout=30)
            assert e is None, e
            this_id = r.get_response().id.split("_")[0]
            assert this_id in results, "unexpected sequence id returned by the server: " + this_id
            results[this_id].append(int(r.as_numpy("OUTPUT")[0][0]))
        c.stop_stream()
    dyna_assert(seqs, {seq_id: results[str(seq_id)] for _, seq_id, _ in seqs})


if __name__ == "__main__":
    client_checks.main(globals())
