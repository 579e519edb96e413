// Provides a Python interpreter with the official Triton client (tritonclient[all]) in a
// git-ignored virtualenv, creating it on first use. Missing Python or pip failing is an error,
// never a skip: these tests are the proof that real clients work.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

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

function imports(py: string): boolean {
  try {
    execFileSync(py, ['-c', 'import tritonclient.http, tritonclient.grpc, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
