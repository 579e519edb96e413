// Provides a Python interpreter with the official Triton client (tritonclient[all]) in a
// git-ignored virtualenv, creating it on first use. Missing Python or pip failing is an error,
// never a skip: these tests are the proof that real clients work.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const VENV = resolve('.cache/venv-client');
const PY = resolve(VENV, 'bin/python');
const REQUIREMENTS = ['tritonclient[all]==2.73.0', 'numpy==2.4.6'];

/** Path of a python that can `import tritonclient`; builds the venv when needed (about a minute). */
export function clientPython(): string {
  if (existsSync(PY) && imports(PY)) return PY;
  mkdirSync(resolve('.cache'), { recursive: true });
  execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(PY, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', ...REQUIREMENTS], {
    stdio: 'inherit',
    timeout: 600_000,
  });
  if (!imports(PY)) throw new Error('tritonclient installed but cannot be imported');
  return PY;
}

const run = promisify(execFile);

/**
 * Runs one check of a check script (the runner of python/client_checks.py) against a server;
 * passes when it prints `ok <check>`, else fails with the script's output.
 */
export async function runPythonCheck(
  python: string,
  script: string,
  check: string,
  server: { httpAddress: string; grpcAddress: string },
): Promise<void> {
  try {
    const args = [script, '--http', server.httpAddress, '--grpc', server.grpcAddress, check];
    const { stdout } = await run(python, args, { timeout: 120_000 });
    assert.match(stdout, new RegExp(`^ok ${check}$`, 'm'));
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    assert.fail(`${check} failed:\n${e.stderr ?? ''}${e.stdout ?? ''}${e.stderr ? '' : e.message}`);
  }
}

function imports(py: string): boolean {
  try {
    execFileSync(py, ['-c', 'import tritonclient.http, tritonclient.grpc, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
