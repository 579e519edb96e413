"""NVIDIA Triton (the server binary bundled in the nvidia-pytriton package) serving an
onnxruntime session through PyTriton's Python callable, with Triton's dynamic batcher."""
import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

from common import parse_args, session

args = parse_args()
sess = session(args.model_path)
inputs = sess.get_inputs()
outputs = sess.get_outputs()
ORT_TO_NP = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(double)": np.float64}


@batch
def infer(**feeds):
    outs = sess.run(None, {k: v for k, v in feeds.items()})
    return {o.name: r for o, r in zip(outputs, outs)}


config = TritonConfig(
    http_address="127.0.0.1",
    http_port=args.http_port,
    grpc_address="127.0.0.1",
    grpc_port=args.grpc_port,
    metrics_port=args.metrics_port,
)
with Triton(config=config) as triton:
    triton.bind(
        model_name=args.model_name,
        infer_func=infer,
        inputs=[Tensor(name=i.name, dtype=ORT_TO_NP[i.type], shape=tuple(i.shape[1:])) for i in inputs],
        outputs=[Tensor(name=o.name, dtype=ORT_TO_NP[o.type], shape=tuple(-1 if isinstance(d, str) else d for d in o.shape[1:])) for o in outputs],
        config=ModelConfig(
            max_batch_size=args.max_batch,
            batcher=DynamicBatcher(max_queue_delay_microseconds=args.max_queue_delay_us),
        ),
        strict=False,
    )
    triton.serve()
