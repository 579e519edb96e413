#!/usr/bin/env node
// Runs every test file under test/ with node:test through tsx, and fails when no test ran
// (node:test exits 0 on an empty run, and Node 20 does not expand globs).
//   node scripts/run-tests.mjs [substring filters...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startKafka } from './services/kafka.mjs';
import { startMlflow } from './services/mlflow.mjs';
import { postgresBin, startPostgres } from './services/postgres.mjs';
import { redisBin, startRedis } from './services/redis.mjs';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// External servers start once per run and are shared by every test file (each test makes its own
// database). Under CI=true a missing server fails the run here, naming the package to install.
const env = { ...process.env };
let postgres;
if (postgresBin() || process.env.CI === 'true') {
  postgres = await startPostgres();
  env.INFERGATE_TEST_PG_URL = postgres.url;
}
// Redis (the shared rate limiter's store) the same way: one server, each test its own key prefix.
let redis;
if (redisBin() || process.env.CI === 'true') {
  try {
    redis = await startRedis();
  } catch (err) {
    postgres?.stop();
    console.error(err.message);
    process.exit(1);
  }
  env.INFERGATE_TEST_REDIS_URL = redis.url;
}
// MLflow (a Python server in its own venv, seconds to start, minutes to install) only for runs
// that select an MLflow test.
let mlflow;
if (files.some((f) => f.includes('mlflow'))) {
  try {
    mlflow = await startMlflow();
    env.INFERGATE_TEST_MLFLOW_URL = mlflow.url;
    env.INFERGATE_TEST_MLFLOW_PYTHON = mlflow.python;
  } catch (err) {
    if (process.env.CI === 'true') {
      postgres?.stop();
      redis?.stop();
      console.error(`MLflow tracking server could not be started (python3 with venv and pip needed): ${err.message}`);
      process.exit(1);
    }
    console.error(`MLflow tracking server not started, its tests will skip: ${err.message}`);
    env.INFERGATE_TEST_MLFLOW_SKIP = err.message;
  }
}
// Kafka (a JVM broker, seconds to start; its jars fetched once into ~/.cache) only for runs that
// select a Kafka test. Under CI=true a broker that cannot start fails the run.
let kafka;
if (files.some((f) => basename(f).includes('kafka'))) {
  try {
    kafka = await startKafka();
    env.INFERGATE_TEST_KAFKA_BROKERS = kafka.brokers;
  } catch (err) {
    if (process.env.CI === 'true') {
      postgres?.stop();
      redis?.stop();
      mlflow?.stop();
      console.error(`Kafka broker could not be started: ${err.message}`);
      process.exit(1);
    }
    console.error(`Kafka broker not started, its tests will skip: ${err.message}`);
    env.INFERGATE_TEST_KAFKA_SKIP = err.message;
  }
}
const stopServices = () => {
  postgres?.stop();
  redis?.stop();
  mlflow?.stop();
  kafka?.stop();
};
process.on('SIGINT', () => {
  stopServices();
  process.exit(130);
});

const args = [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  '--test-force-exit',
  '--test-timeout=600000',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
  ...files,
];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
let tail = '';
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  tail = (tail + d.toString()).slice(-500_000);
});
child.on('close', (code) => {
  stopServices();
  const count = (label) => Number([...tail.matchAll(new RegExp(`^ℹ ${label} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? 0);
  const n = count('tests');
  // A plain closing line that any CI log reader understands, after node's own summary.
  console.log(
    `tests: ${count('pass')} passed, ${count('fail') + count('cancelled')} failed, ${count('skipped')} skipped`,
  );
  if (n === 0) {
    console.error('test run executed 0 tests: failing');
    process.exit(1);
  }
  process.exit(code ?? 1);
});
