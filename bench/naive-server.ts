// (d) A naive model server, as a Node developer would write one: node:http, a KServe v2 shaped
// JSON body, session.run per request on the main thread, JSON back. No batching, no workers.
//   node --import tsx bench/naive-server.ts <model.onnx> <port> [model-name]
import { createServer } from 'node:http';
import ort from 'onnxruntime-node';

const [file, port, name = 'model'] = process.argv.slice(2);
const TYPES: Record<string, ort.Tensor.Type> = { FP32: 'float32', INT64: 'int64', INT32: 'int32', FP64: 'float64' };
const session = await ort.InferenceSession.create(file!);

interface V2Input {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { inputs: V2Input[] };
      const feeds: Record<string, ort.Tensor> = {};
      for (const i of body.inputs) {
        const type = TYPES[i.datatype]!;
        const data = type === 'int64' ? BigInt64Array.from(i.data, (v) => BigInt(v)) : i.data;
        feeds[i.name] = new ort.Tensor(type, data as never, i.shape);
      }
      const out = await session.run(feeds);
      const outputs = Object.entries(out).map(([n, t]) => ({
        name: n,
        datatype: 'FP32',
        shape: t.dims,
        data: Array.from(t.data as Float32Array),
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model_name: name, model_version: '1', outputs }));
    } catch (err) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (err as Error).message }));
    }
  });
});
server.listen(Number(port), '127.0.0.1');
