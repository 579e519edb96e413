/**
 * Progress for long optimizer stages (calibration, accuracy, latency): a cli-progress bar per stage
 * on a terminal, plain "stage done/total" lines otherwise (logs and CI keep readable output).
 */
import { Presets, SingleBar } from 'cli-progress';

export type ProgressFn = (stage: string, done: number, total: number) => void;

export interface Progress {
  update: ProgressFn;
  /** Finish the current bar (call before printing tables). */
  stop: () => void;
}

/** A progress reporter on `stream` (stderr by default); bars only when it is a TTY. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? barReporter(stream) : lineReporter(stream);
}

function barReporter(stream: NodeJS.WriteStream): Progress {
  let bar: SingleBar | undefined;
  let current = '';
  const stop = () => {
    bar?.stop();
    bar = undefined;
    current = '';
  };
  const update: ProgressFn = (stage, done, total) => {
    if (stage !== current) {
      stop();
      bar = new SingleBar(
        { format: `${stage.padEnd(12)} [{bar}] {value}/{total}`, stream, hideCursor: true },
        Presets.shades_classic,
      );
      bar.start(total, done);
      current = stage;
    } else bar?.update(done);
    if (done >= total) stop();
  };
  return { update, stop };
}

// Without a terminal: one line when a stage starts and one when it completes.
function lineReporter(stream: NodeJS.WriteStream): Progress {
  let current = '';
  const update: ProgressFn = (stage, done, total) => {
    if (stage !== current) {
      current = stage;
      stream.write(`${stage}: ${done}/${total}\n`);
    }
    if (done >= total && done > 0) {
      stream.write(`${stage}: done (${total})\n`);
      current = '';
    }
  };
  return { update, stop: () => undefined };
}
