// The nvidia-smi CSV parser, on output recorded in the exact format the query prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNvidiaSmi } from '../../../src/observability/nvidia-smi.js';

// nvidia-smi --query-gpu=uuid,utilization.gpu,memory.used,memory.total,power.draw,power.limit
//            --format=csv,noheader,nounits   (two GPUs; the second reports no power readings)
const RECORDED = [
  'GPU-4f2b3c1d-8e7a-4b6c-9d0e-1a2b3c4d5e6f, 37, 10240, 81559, 112.45, 700.00',
  'GPU-9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d, 0, 1, 81559, [N/A], [Not Supported]',
  '',
].join('\n');

test('parses one reading per GPU, converting MiB → bytes and % → 0..1', () => {
  const [a, b, ...rest] = parseNvidiaSmi(RECORDED);
  assert.equal(rest.length, 0);
  assert.deepEqual(a, {
    uuid: 'GPU-4f2b3c1d-8e7a-4b6c-9d0e-1a2b3c4d5e6f',
    utilization: 0.37,
    memoryUsedBytes: 10240 * 1024 * 1024,
    memoryTotalBytes: 81559 * 1024 * 1024,
    powerWatts: 112.45,
    powerLimitWatts: 700,
  });
  assert.equal(b?.utilization, 0);
  assert.equal(b?.powerWatts, undefined, '[N/A] is no reading, not 0');
  assert.equal(b?.powerLimitWatts, undefined);
});

test('error text and CRLF line ends yield no bogus readings', () => {
  const failed = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\r\n";
  assert.deepEqual(parseNvidiaSmi(failed), []);
  assert.equal(parseNvidiaSmi(RECORDED.replaceAll('\n', '\r\n')).length, 2);
});
