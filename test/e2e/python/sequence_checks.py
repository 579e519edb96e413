"""A simple_sequence-style flow with the official Triton client (tritonclient) against a live
infergate serving the accumulator model 'acc' (OUTPUT = INPUT + the sequence's implicit state).

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


def check_http_sync(a):
    c = httpclient.InferenceServerClient(a.http)
    sync_flow(httpclient, c, [1000, 1001])
    sync_flow(httpclient, c, ["seq-a", "seq-b"])
    errors(httpclient, c)


def check_grpc_sync(a):
    c = grpcclient.InferenceServerClient(a.grpc)
    sync_flow(grpcclient, c, [2000, 2001])
    sync_flow(grpcclient, c, ["g-a", "g-b"])
    errors(grpcclient, c)


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


if __name__ == "__main__":
    client_checks.main(globals())
