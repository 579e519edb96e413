// Finds the external tools the observability tests drive (prometheus, promtool). A missing tool
// fails the test with the command that installs it: these tests prove the real thing works, so
// they never skip (.ci/run installs the Debian package).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** The tool's path; fails the calling test when it is not installed. */
export function requireTool(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  if (!path) assert.fail(`${name} is required: apt-get install -y prometheus (Debian package)`);
  return path;
}
