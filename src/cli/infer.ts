import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { baseUrl, call } from './client.js';
import { parseNpy } from '../optimizer/data/npy.js';

interface Metadata {
  inputs: Array<{ name: string; datatype: string; shape: number[] }>;
}

/** Builds a KServe v2 JSON request body from a .json request file or a .npy array. */
async function buildBody(file: string, url: string, model: string, input?: string): Promise<unknown> {
  const bytes = await readFile(file);
  if (!file.endsWith('.npy')) {
    const body = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof body !== 'object' || body === null || !Array.isArray((body as { inputs?: unknown }).inputs))
      throw new Error(`${file}: expected a KServe v2 request object with an "inputs" array`);
    return body;
  }
  const arr = parseNpy(bytes, file);
  const meta = (await call(`${url}/v2/models/${encodeURIComponent(model)}`)) as Metadata;
  const name = input ?? meta.inputs[0]?.name;
  if (!name) throw new Error(`model '${model}' has no inputs`);
  if (arr.datatype === 'FP16') throw new Error('FP16 .npy input needs the binary protocol; use the Python client');
  const data = Array.from(arr.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));
  return { inputs: [{ name, datatype: arr.datatype, shape: arr.shape, data }] };
}

/** `infergate infer MODEL FILE`: sends one request and prints the outputs. */
export function registerInferCommand(program: Command): void {
  program
    .command('infer')
    .description('send one inference request from a JSON request file or a .npy array and print the outputs')
    .argument('<model>', 'model name')
    .argument('<file>', 'request .json (KServe v2 body) or .npy array (becomes the first input)')
    .option('-u, --url <url>', 'server HTTP address', 'http://127.0.0.1:8000')
    .option('-v, --model-version <v>', 'model version (default: the version policy picks)')
    .option('-i, --input <name>', "input name for a .npy file (default: the model's first input)")
    .option('-k, --top <k>', 'show only the top-k classes of each output', (v) => Number.parseInt(v, 10))
    .action(
      async (
        model: string,
        file: string,
        opts: { url: string; modelVersion?: string; input?: string; top?: number },
      ) => {
        try {
          const url = baseUrl(opts.url);
          const body = (await buildBody(file, url, model, opts.input)) as Record<string, unknown>;
          if (opts.top) body.outputs = undefined;
          const path = `${url}/v2/models/${encodeURIComponent(model)}${opts.modelVersion ? `/versions/${opts.modelVersion}` : ''}/infer`;
          const res = (await call(path, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })) as { outputs: Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }> };
          for (const o of res.outputs) {
            console.log(`${o.name} ${o.datatype} [${o.shape.join(', ')}]`);
            const data = opts.top ? topK(o.data as number[], opts.top) : o.data;
            console.log(JSON.stringify(data));
          }
        } catch (err) {
          console.error(`infergate infer: ${(err as Error).message}`);
          process.exitCode = 1;
        }
      },
    );
}

function topK(values: number[], k: number): string[] {
  return values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, k)
    .map(([v, i]) => `${i}: ${v.toFixed(4)}`);
}
