/** The rows every measurement, calibration and training pass reads. */

/** A validation set: rows of one model input, optional integer labels. */
export interface ValidationSet {
  input: string;
  /** Row shape without the batch dimension. */
  rowShape: number[];
  rows: Float32Array[];
  labels?: number[];
}
