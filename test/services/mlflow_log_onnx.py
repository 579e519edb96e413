"""Logs tiny ONNX MLPs to an MLflow tracking server with MLflow's own client, registers them and
prints one JSON line the import test checks against (ids, sha256 of every artifact as the client
reads it back, and onnxruntime's outputs for the given rows).

Usage: MLFLOW_TRACKING_URI=http://127.0.0.1:PORT python mlflow_log_onnx.py NAME ODD_NAME ROWS_JSON

- NAME gets two versions logged with mlflow.onnx.log_model, so that "latest", "@champion" and "/1"
  resolve differently: version 1 (seed 1) has the alias `champion` and tags, version 2 (seed 2)
  is the latest. The first layer's weights are 1 KiB, so onnx writes them to an external-data
  file beside model.onnx (MLflow's default save_as_external_data=True): the importer must carry it.
- ODD_NAME (a name that needs URL-encoding) gets one version: NAME's version 1's logged model.
- NAME-plain has version 1 = a bare .onnx artifact (no MLmodel), version 2 = no ONNX file at all.
"""

import hashlib
import json
import os
import sys
import tempfile

import mlflow
import numpy as np
import onnx
import onnxruntime as ort
from mlflow import MlflowClient
from onnx import TensorProto, helper, numpy_helper

HIDDEN = 64


def make_model(seed):
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.standard_normal((4, HIDDEN)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.standard_normal(HIDDEN).astype(np.float32) * 0.1, "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((HIDDEN, 3)).astype(np.float32) * 0.2, "w2")
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("MatMul", ["r", "w2"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 3])],
        [w1, b1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_back(client, name, version, rows):
    """What the MLflow client itself downloads for the version, and what onnxruntime computes."""
    with tempfile.TemporaryDirectory() as tmp:
        uri = client.get_model_version_download_uri(name, version)
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
        files = {}
        for root, _, names in os.walk(local):
            for n in names:
                p = os.path.join(root, n)
                files[os.path.relpath(p, local)] = {"sha256": sha256(p), "size": os.path.getsize(p)}
        session = ort.InferenceSession(os.path.join(local, "model.onnx"), providers=["CPUExecutionProvider"])
        (probs,) = session.run(["probs"], {"x": np.asarray(rows, np.float32)})
        return files, probs.tolist()


def plain(client, name):
    """Versions registered straight from run artifacts: one bare .onnx file, then none."""
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run() as run:
        path = os.path.join(tmp, "net.onnx")
        onnx.save_model(make_model(3), path)
        mlflow.log_artifact(path, "plain")
        notes = os.path.join(tmp, "README.txt")
        with open(notes, "w") as f:
            f.write("no model here")
        mlflow.log_artifact(notes, "docs")
        digest, size = sha256(path), os.path.getsize(path)
    client.create_registered_model(name)
    for sub in ("plain", "docs"):
        client.create_model_version(name, source=f"{run.info.artifact_uri}/{sub}", run_id=run.info.run_id)
    return {"name": name, "sha256": digest, "size": size}


def main():
    name, odd, rows = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    client = MlflowClient()
    mlflow.set_experiment("infergate-import")
    out = {"name": name, "versions": {}}
    for seed, acc in ((1, 0.91), (2, 0.93)):
        with mlflow.start_run() as run:
            mlflow.log_params({"hidden": HIDDEN, "seed": seed, "optimizer": "adam"})
            mlflow.log_metrics({"acc": acc, "loss": 0.25})
            info = mlflow.onnx.log_model(make_model(seed), name="model", registered_model_name=name)
        mv = client.search_model_versions(f"name='{name}' and run_id='{run.info.run_id}'")[0]
        files, probs = read_back(client, name, mv.version, rows)
        out["versions"][mv.version] = {
            "run_id": run.info.run_id,
            "model_id": info.model_id,
            "source": mv.source,
            "files": files,
            "probs": probs,
        }
        if seed == 1:
            client.set_registered_model_alias(name, "champion", mv.version)
            client.set_model_version_tag(name, mv.version, "format", "onnx")
            client.set_model_version_tag(name, mv.version, "owner", "team-a")
            client.create_registered_model(odd)
            client.create_model_version(odd, source=mv.source, run_id=mv.run_id, model_id=info.model_id)
    out["plain"] = plain(client, f"{name}-plain")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
