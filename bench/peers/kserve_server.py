"""KServe's Python model server (kserve.ModelServer) with an onnxruntime model speaking the v2
(Open Inference) protocol over REST, one worker process, one session.run per request."""
import uuid

import uvicorn
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

from common import datatype_of, parse_args, session


class OnnxModel(Model):
    def __init__(self, name: str, path: str):
        super().__init__(name)
        self.path = path
        self.sess = None
        self.load()

    def load(self) -> bool:
        self.sess = session(self.path)
        self.output_names = [o.name for o in self.sess.get_outputs()]
        self.ready = True
        return self.ready

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        feeds = {i.name: i.as_numpy() for i in payload.inputs}
        outs = self.sess.run(None, feeds)
        outputs = []
        for n, o in zip(self.output_names, outs):
            out = InferOutput(name=n, shape=list(o.shape), datatype=datatype_of(o))
            out.set_data_from_numpy(o, binary_data=False)
            outputs.append(out)
        return InferResponse(model_name=self.name, infer_outputs=outputs, response_id=payload.id or str(uuid.uuid4()))


def loopback_only() -> None:
    """KServe hard-codes host 0.0.0.0 for its REST server: force loopback (load stays on this machine)."""
    original = uvicorn.Config.__init__

    def init(self, *a, **kw):
        kw["host"] = "127.0.0.1"
        original(self, *a, **kw)

    uvicorn.Config.__init__ = init


if __name__ == "__main__":
    loopback_only()
    args = parse_args()
    model = OnnxModel(args.model_name, args.model_path)
    # gRPC off: KServe binds it on [::] with no host option, and the comparison uses REST.
    ModelServer(http_port=args.http_port, grpc_port=args.grpc_port, workers=1, enable_grpc=False, enable_docs_url=False).start([model])
