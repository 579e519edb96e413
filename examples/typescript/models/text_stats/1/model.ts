/**
 * For each text of a batch: its length in characters and its number of words that are not stop
 * words (counts INT32 [2]), and the text in upper case (upper BYTES [1], returned as strings).
 * The stop words are read once per instance from this version's folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ExecuteContext,
  type ModelContext,
  ModelInputError,
  type OutputTensors,
  type Tensors,
} from 'infergate/model';
import { words } from './words.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
let stopWords = new Set<string>();

export function initialize(ctx: ModelContext): void {
  stopWords = new Set(words(readFileSync(join(ctx.versionDir, 'stopwords.txt'), 'utf8')));
  ctx.log.info('stop words loaded', { count: stopWords.size });
}

export function execute(inputs: Tensors, ctx: ExecuteContext): OutputTensors {
  const texts = (inputs['text']!.data as Uint8Array[]).map((bytes, row) => {
    try {
      return decoder.decode(bytes);
    } catch {
      throw new ModelInputError(`text ${row} of the batch is not valid UTF-8`);
    }
  });
  const counts = new Int32Array(ctx.batchSize * 2);
  texts.forEach((text, row) => {
    counts[row * 2] = [...text].length;
    counts[row * 2 + 1] = words(text).filter((w) => !stopWords.has(w)).length;
  });
  return {
    counts: { datatype: 'INT32', shape: [ctx.batchSize, 2], data: counts },
    upper: { datatype: 'BYTES', shape: [ctx.batchSize, 1], data: texts.map((t) => t.toUpperCase()) },
  };
}
