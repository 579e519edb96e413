/**
 * `infergate registry validate NAME VERSION --data X [--labels Y]`: runs the version on the serving
 * runtime (onnxruntime in worker threads, through the same router and scheduler as `serve`) next
 * to the version production names now, A/B row by row, and records accuracy, agreement and
 * latency p50/p99 with the gate's verdict. Thresholds: flags, else the model config's
 * `gate_*` parameters, else "no regression against production" (registry/gate.ts).
 */
import type { Command } from 'commander';
import { formatOf, parseModelConfig } from '../../config/index.js';
import { InferError } from '../../core/index.js';
import { type GateThresholds, gateChecks, thresholdsFromConfig, validationRecord } from '../../registry/gate.js';
import type { VersionRecord } from '../../registry/types.js';
import { printJson, runWithRegistry, table, withRegistryOptions } from './context.js';

interface Flags {
  data: string;
  labels?: string;
  input?: string;
  maxRows?: string;
  against?: string;
  minAccuracy?: string;
  minAgreement?: string;
  maxLatencyP99Ms?: string;
}

export function registerValidate(registry: Command): void {
  withRegistryOptions(
    registry
      .command('validate')
      .description('measure a version on the serving runtime against production and record the gate verdict')
      .argument('<name>', 'model name')
      .argument('<version>', 'version number or alias')
      .requiredOption('--data <file>', 'validation rows: .npy, .npz or .jsonl')
      .option('--labels <file>', 'integer labels (.npy) for accuracy')
      .option('--input <name>', 'model input the rows feed (default: the only input)')
      .option('--max-rows <n>', 'rows to use (default 1000)')
      .option('--against <version>', 'baseline version or alias (default: production)')
      .option('--min-accuracy <x>', 'gate: accuracy at least x')
      .option('--min-agreement <x>', 'gate: top-1 agreement with the baseline at least x')
      .option('--max-latency-p99-ms <ms>', 'gate: p99 latency at most ms'),
  ).action(async (name: string, version: string, flags: Flags, cmd: Command) =>
    runWithRegistry(cmd, async (r) => {
      const candidate = await r.service.showVersion(name, version);
      const baseline = await baselineOf(r.service, name, flags.against, candidate);
      // Loaded here: it brings onnxruntime, which `infergate --help` should not pay for.
      const { measureVersion } = await import('../../validation/run.js');
      const { measurements, context } = await measureVersion({
        artifacts: r.service.artifacts,
        candidate,
        baseline,
        data: flags.data,
        labels: flags.labels,
        input: flags.input,
        maxRows: flags.maxRows === undefined ? undefined : positive(flags.maxRows, '--max-rows'),
      });
      const thresholds: GateThresholds = { ...configThresholds(candidate), ...flagThresholds(flags) };
      const checks = gateChecks(measurements, thresholds);
      const record = validationRecord(measurements, checks, {
        at: r.service.nowIso(),
        by: r.actor,
        baseline: baseline?.version,
        context,
      });
      await r.service.recordValidation(name, candidate.version, record, r.actor);
      if (r.json) printJson(record);
      else {
        console.log(
          `${name} version ${candidate.version}${baseline ? ` against version ${baseline.version}` : ''}: ${record.passed ? 'PASSED' : 'FAILED'}`,
        );
        console.log(
          table(
            ['check', 'value', 'threshold', 'result'],
            checks.map((c) => [
              c.name,
              c.value ?? '-',
              `${c.kind === 'min' ? '≥' : '≤'} ${c.threshold}`,
              c.passed ? 'ok' : `FAIL${c.note ? ` (${c.note})` : ''}`,
            ]),
          ),
        );
        console.log(
          Object.entries(measurements)
            .map(([k, v]) => `${k}=${Number(v.toFixed(4))}`)
            .join('  '),
        );
      }
      if (!record.passed) process.exitCode = 1;
    }),
  );
}

async function baselineOf(
  service: { showVersion(m: string, r: string): Promise<VersionRecord> },
  model: string,
  against: string | undefined,
  candidate: VersionRecord,
): Promise<VersionRecord | undefined> {
  try {
    const b = await service.showVersion(model, against ?? 'production');
    return b.version === candidate.version ? undefined : b;
  } catch (err) {
    // No production yet: the first version is measured on its own.
    if (against === undefined && err instanceof InferError && err.code === 'IG_ERR_NOT_FOUND') return undefined;
    throw err;
  }
}

function configThresholds(v: VersionRecord): GateThresholds {
  if (!v.config) return {};
  const cfg = parseModelConfig(v.config.text, formatOf(v.config.file), `${v.model}/${v.config.file}`);
  const params: Record<string, { string_value: string }> = {};
  for (const [k, p] of Object.entries(cfg.parameters)) params[k] = { string_value: p.stringValue };
  return thresholdsFromConfig(params);
}

function flagThresholds(f: Flags): GateThresholds {
  const out: GateThresholds = {};
  const num = (v: string | undefined, what: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InferError('IG_ERR_INVALID_ARG', `${what} must be a number`);
    return n;
  };
  const a = num(f.minAccuracy, '--min-accuracy');
  const g = num(f.minAgreement, '--min-agreement');
  const l = num(f.maxLatencyP99Ms, '--max-latency-p99-ms');
  if (a !== undefined) out.minAccuracy = a;
  if (g !== undefined) out.minAgreement = g;
  if (l !== undefined) out.maxLatencyP99Ms = l;
  return out;
}

function positive(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InferError('IG_ERR_INVALID_ARG', `${what} must be a positive integer`);
  return n;
}
