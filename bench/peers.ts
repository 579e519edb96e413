// (e) Peer servers in their own virtualenvs under .cache/bench-venvs (git-ignored): installed on
// first use with pip, started as processes on loopback ports, stopped with their process group.
// A peer that fails to install or start is reported with the reason; the comparison goes on.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type PeerName = 'triton' | 'kserve' | 'fastapi';

/** How each peer is installed, started and spoken to. */
export const PEERS: Record<
  PeerName,
  { packages: string[]; script: string; protocol: 'http-binary' | 'http-json'; label: string; python?: string }
> = {
  triton: {
    packages: ['nvidia-pytriton', 'onnxruntime', 'numpy'],
    script: 'triton_server.py',
    protocol: 'http-binary',
    label: 'Triton (PyTriton, ORT in Python)',
    // Triton's Python-backend stub links the system libpython3.11 (Debian's 3.11.2); a venv from
    // another 3.11 build (pyenv's 3.11.7) gives it a mismatched stdlib and model loading fails.
    python: '/usr/bin/python3',
  },
  kserve: {
    packages: ['kserve', 'onnxruntime', 'numpy'],
    script: 'kserve_server.py',
    protocol: 'http-json',
    label: 'KServe ModelServer',
  },
  fastapi: {
    packages: ['fastapi', 'uvicorn', 'onnxruntime', 'numpy'],
    script: 'fastapi_server.py',
    protocol: 'http-json',
    label: 'FastAPI + uvicorn + ORT',
  },
};

const VENVS = '.cache/bench-venvs';

function tail(file: string, n = 600): string {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text.slice(-n).replace(/\s+/g, ' ');
  } catch {
    return '';
  }
}

/** The venv's python, installing the peer's packages first if this was never done; or the reason it failed. */
export function ensurePeer(peer: PeerName): { python: string } | { error: string } {
  const dir = join(VENVS, peer);
  const python = join(dir, 'bin', 'python');
  const marker = join(dir, '.installed');
  if (existsSync(marker)) return { python };
  mkdirSync(VENVS, { recursive: true });
  const log = join(VENVS, `${peer}-install.log`);
  if (!existsSync(python)) {
    const base = PEERS[peer].python && existsSync(PEERS[peer].python) ? PEERS[peer].python : 'python3';
    const v = spawnSync(base, ['-m', 'venv', dir], { encoding: 'utf8' });
    if (v.status !== 0) return { error: `venv failed: ${(v.stderr || v.stdout).trim().slice(-300)}` };
  }
  process.stderr.write(`installing ${peer} peer (${PEERS[peer].packages.join(' ')}) into ${dir} …\n`);
  const r = spawnSync(join(dir, 'bin', 'pip'), ['install', '-q', ...PEERS[peer].packages], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  writeFileSync(log, `${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  if (r.status !== 0) return { error: `pip install failed (${log}): ${tail(log, 300)}` };
  writeFileSync(marker, new Date().toISOString());
  return { python };
}

/** A started peer. */
export interface PeerProcess {
  child: ChildProcess;
  log: string;
}

/** Starts a peer serving `file` as `model`; resolves once the model's ready endpoint answers 200. */
export async function startPeer(
  peer: PeerName,
  python: string,
  model: { name: string; file: string; maxBatch: number; queueDelayUs: number },
  ports: { http: number; grpc: number; metrics: number },
): Promise<PeerProcess> {
  const log = resolve(VENVS, `${peer}-server.log`);
  const out = openSync(log, 'w');
  const args = [
    PEERS[peer].script,
    ...['--model-path', resolve(model.file), '--model-name', model.name],
    ...['--http-port', String(ports.http), '--grpc-port', String(ports.grpc), '--metrics-port', String(ports.metrics)],
    ...['--max-batch', String(model.maxBatch), '--max-queue-delay-us', String(model.queueDelayUs)],
  ];
  // Own process group, so stopping also ends what the peer spawned (PyTriton runs tritonserver).
  const child = spawn(resolve(python), args, {
    cwd: resolve('bench/peers'),
    stdio: ['ignore', out, out],
    detached: true,
  });
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${tail(log)}`);
    try {
      // The model's own readiness: Triton answers server-ready before PyTriton has loaded the model.
      const r = await fetch(`http://127.0.0.1:${ports.http}/v2/models/${model.name}/ready`);
      if (r.status === 200) return { child, log };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  await stopPeer({ child, log });
  throw new Error(`not ready within 180 s: ${tail(log)}`);
}

/** Stops a peer's whole process group (SIGTERM, then SIGKILL after 10 s). */
export async function stopPeer(p: PeerProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.pid === undefined) return;
  const done = new Promise((r) => p.child.once('exit', r));
  const group = -p.child.pid;
  try {
    process.kill(group, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 10_000);
  await done;
  clearTimeout(timer);
}
