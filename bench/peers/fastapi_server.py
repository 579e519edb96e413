"""FastAPI + uvicorn + onnxruntime, written the way a Python developer would: a KServe v2 shaped
JSON endpoint, one session.run per request (FastAPI runs the sync handler in its thread pool)."""
import numpy as np
import uvicorn
from fastapi import FastAPI

from common import DTYPES, datatype_of, parse_args, session

args = parse_args()
sess = session(args.model_path)
app = FastAPI()


@app.get("/v2/health/ready")
@app.get("/v2/models/{name}/ready")
def ready(name: str = "") -> dict:
    return {"ready": True}


@app.post("/v2/models/{name}/infer")
def infer(name: str, body: dict) -> dict:
    feeds = {
        i["name"]: np.asarray(i["data"], dtype=DTYPES[i["datatype"]]).reshape(i["shape"]) for i in body["inputs"]
    }
    outs = sess.run(None, feeds)
    names = [o.name for o in sess.get_outputs()]
    return {
        "model_name": name,
        "model_version": "1",
        "outputs": [
            {"name": n, "datatype": datatype_of(o), "shape": list(o.shape), "data": o.ravel().tolist()}
            for n, o in zip(names, outs)
        ],
    }


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=args.http_port, log_level="warning")
