// The MLflow tracking server of a test run: the one scripts/run-tests.mjs started for the whole run
// (INFERGATE_TEST_MLFLOW_URL / _PYTHON), or, for a file run alone, one of its own (creating the
// git-ignored venv on first use takes minutes). A server that cannot be had fails the test under
// CI=true and skips it otherwise, saying why.
// @ts-expect-error a plain .mjs helper shared with the test runner
import { startMlflow } from '../../scripts/services/mlflow.mjs';

export interface TestMlflow {
  /** The tracking server, http://127.0.0.1:PORT. */
  url: string;
  /** The venv's python, with mlflow, onnx, onnxruntime and numpy. */
  python: string;
}

let own: Promise<TestMlflow & { stop(): void }> | undefined;

/** The server, or a string saying why there is none (the caller skips with it). Throws under CI=true. */
export async function testMlflow(): Promise<TestMlflow | string> {
  const url = process.env.INFERGATE_TEST_MLFLOW_URL;
  const python = process.env.INFERGATE_TEST_MLFLOW_PYTHON;
  if (url && python) return { url, python };
  // The runner already tried and failed (not under CI): do not try again in every file.
  if (process.env.INFERGATE_TEST_MLFLOW_SKIP) return `MLflow unavailable: ${process.env.INFERGATE_TEST_MLFLOW_SKIP}`;
  const started: Promise<TestMlflow & { stop(): void }> =
    own ??
    startMlflow().then((m: TestMlflow & { stop(): void }) => {
      process.once('exit', () => m.stop());
      return m;
    });
  own = started;
  try {
    const { url, python } = await started;
    return { url, python };
  } catch (err) {
    const why = `MLflow tracking server unavailable (python3 -m venv + pip install into .cache/venv-mlflow): ${(err as Error).message}`;
    if (process.env.CI === 'true') throw new Error(why);
    return why;
  }
}
