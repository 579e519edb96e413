// Reads one series from a server's GET /metrics, and a model's execution count from its statistics.
import { request } from 'undici';

/** The value of the first series of `name` whose labels contain `labels` (0 when absent). */
export async function metricValue(metricsPort: number | undefined, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

/** Executions of a model's version so far (Triton's statistics extension). */
export async function executionCount(httpAddress: string, model: string): Promise<number> {
  const r = await request(`http://${httpAddress}/v2/models/${model}/stats`);
  const body = (await r.body.json()) as { model_stats: Array<{ execution_count: number }> };
  return body.model_stats[0]?.execution_count ?? 0;
}

/** Polls `cond` every 20 ms until it holds; throws naming `what` after `maxMs`. */
export async function until(cond: () => Promise<boolean>, maxMs: number, what: string): Promise<void> {
  const end = Date.now() + maxMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${maxMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
