/**
 * Text-recognition metrics for OCR validation: CTC greedy decoding of [T, classes] scores (blank = 0)
 * with a character dictionary, and the edit distance behind the character error rate.
 */

/** Argmax per time step, merge repeats, drop blanks; `keys[c]` is the character of class c. */
export function ctcGreedyDecode(scores: Float32Array, steps: number, classes: number, keys: string[]): string {
  let out = '';
  let prev = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[t * classes + c]! > scores[t * classes + best]!) best = c;
    if (best !== prev && best !== 0) out += keys[best] ?? '';
    prev = best;
  }
  return out;
}

/** Levenshtein distance between two strings (by UTF-16 unit; the dictionary is BMP-only). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return d[b.length]!;
}

/** Exact-match rate and character error rate (edits / reference characters). */
export function textScores(pred: string[], truth: string[]): { exact: number; cer: number } {
  let exact = 0;
  let edits = 0;
  let chars = 0;
  pred.forEach((p, i) => {
    const t = truth[i]!;
    if (p === t) exact++;
    edits += editDistance(p, t);
    chars += t.length;
  });
  return { exact: exact / Math.max(truth.length, 1), cer: edits / Math.max(chars, 1) };
}

/** PaddleOCR dictionary lines as class keys: blank first, the file's characters, then space. */
export function paddleKeys(dictText: string): string[] {
  return ['', ...dictText.split('\n').filter((l) => l.length > 0), ' '];
}
