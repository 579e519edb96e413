// A throwaway MLflow 3.17.2 tracking server for one test run: SQLite backend and an artifact
// store served by the server itself (`mlflow-artifacts:/…`, the REST proxy the importer reads),
// on a free loopback port. MLflow and the libraries the tests log models with live in a git-ignored
// virtualenv (.cache/venv-mlflow) that is created only when missing: pip takes minutes.
//   import { startMlflow } from './mlflow.mjs'; const m = await startMlflow(); ... m.stop()
//   node scripts/services/mlflow.mjs   (starts one and prints its URL; Ctrl-C stops it)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './postgres.mjs';

// mlflow 3.18.0 does not install from the index this machine sees (its pin mlflow-tracing==3.18.0
// is not served); these versions are the ones known to install and work together.
export const MLFLOW_PACKAGES = ['mlflow==3.17.2', 'onnx==1.23.2', 'onnxruntime==1.31.1', 'numpy==2.4.6'];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MLFLOW_VENV = process.env.INFERGATE_MLFLOW_VENV ?? join(ROOT, '.cache', 'venv-mlflow');
// Written last, after pip succeeded: a venv without it is a half-finished install and is redone.
const MARKER = join(MLFLOW_VENV, '.infergate-packages');
const READY_TIMEOUT_MS = 180_000;

/** The venv's python when the venv is complete, else undefined (nothing is installed). */
export function mlflowPython() {
  const python = join(MLFLOW_VENV, 'bin', 'python');
  if (!existsSync(python) || !existsSync(join(MLFLOW_VENV, 'bin', 'mlflow'))) return undefined;
  const installed = existsSync(MARKER) ? readFileSync(MARKER, 'utf8').trim() : '';
  return installed === MLFLOW_PACKAGES.join(' ') ? python : undefined;
}

/** Creates the venv when it is missing or incomplete; returns its python. Throws naming what failed. */
export function ensureMlflowVenv({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const ready = mlflowPython();
  if (ready) return ready;
  const base = process.env.PYTHON ?? 'python3';
  log(`mlflow: creating ${MLFLOW_VENV} (${MLFLOW_PACKAGES.join(' ')}); this takes minutes, once`);
  const started = Date.now();
  rmSync(MLFLOW_VENV, { recursive: true, force: true });
  run(base, ['-m', 'venv', MLFLOW_VENV], `${base} -m venv (is Python 3 with venv installed?)`);
  const pip = join(MLFLOW_VENV, 'bin', 'pip');
  run(pip, ['install', '-q', ...MLFLOW_PACKAGES], `pip install ${MLFLOW_PACKAGES.join(' ')}`);
  writeFileSync(MARKER, `${MLFLOW_PACKAGES.join(' ')}\n`);
  log(`mlflow: venv ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return join(MLFLOW_VENV, 'bin', 'python');
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`mlflow venv: ${what} failed (${r.error?.message ?? `exit ${r.status}`}): ${tail(r.stderr ?? '')}`);
}

function tail(text, lines = 15) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Whether `pid` still runs. A child that exited stays a zombie until Node reaps it on its event
 * loop, which a synchronous stop() blocks, so a zombie counts as gone (from /proc on Linux). */
function alive(pid) {
  if (existsSync('/proc/self')) {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
    } catch {
      return false; // no such process
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a server (creating the venv first if needed); resolves to { url, python, port, dir, stop() }
 * once /health answers. stop() is synchronous so an exiting test runner can call it.
 */
export async function startMlflow() {
  const python = ensureMlflowVenv();
  const dir = mkdtempSync(join(tmpdir(), 'infergate-mlflow-'));
  const port = await freePort();
  const logFile = join(dir, 'mlflow.log');
  const out = openSync(logFile, 'a');
  // detached: mlflow runs uvicorn as a child; signalling the process group stops both.
  const child = spawn(
    join(MLFLOW_VENV, 'bin', 'mlflow'),
    [
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
      '--backend-store-uri',
      `sqlite:///${join(dir, 'mlflow.db')}`,
      '--artifacts-destination',
      join(dir, 'artifacts'),
    ],
    {
      cwd: dir,
      detached: true,
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        // Nothing here may reach the network: no telemetry.
        MLFLOW_DISABLE_TELEMETRY: 'true',
        DO_NOT_TRACK: 'true',
        // The job runner (GenAI evaluation jobs) starts seven huey consumer processes with a store
        // in /dev/shm that a killed server leaves behind; model registry tests need none of it.
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
      },
    },
  );
  child.unref();
  const pid = child.pid;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {}
      for (let i = 0; i < 100 && alive(pid); i++) sleepSync(50);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null || (pid !== undefined && !alive(pid))) {
      const log = existsSync(logFile) ? tail(readFileSync(logFile, 'utf8'), 30) : '';
      stop();
      throw new Error(`mlflow server exited before it was ready:\n${log}`);
    }
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return { url, python, port, dir, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
  const log = existsSync(logFile) ? tail(readFileSync(logFile, 'utf8'), 30) : '';
  stop();
  throw new Error(`mlflow server not ready on ${url} within ${READY_TIMEOUT_MS / 1000} s:\n${log}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  const m = await startMlflow();
  console.log(`${m.url} (python ${m.python}; ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const end = () => {
    m.stop();
    process.exit(0);
  };
  process.on('SIGINT', end);
  process.on('SIGTERM', end);
  setInterval(() => undefined, 1 << 30);
}
