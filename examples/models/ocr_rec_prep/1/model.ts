/** Step 5 of the `ocr` ensemble: crops + cls probabilities → REC_INPUT (examples/ocr/serve.ts recPrep). */
import type { OutputTensors, Tensors } from '../../../../src/backend/typescript/api.js';
import { recPrep, unpackImages } from '../../../ocr/serve.js';

export function execute(inputs: Tensors): OutputTensors {
  const crops = unpackImages({
    data: inputs['CROPS']!.data as Float32Array,
    dims: inputs['CROP_DIMS']!.data as Int32Array,
  });
  const lines = (inputs['LINES']!.data as Int32Array)[0]!;
  const { rec, candidates } = recPrep(crops, inputs['CLS_PROBS']!.data as Float32Array, lines);
  return {
    REC_INPUT: { datatype: 'FP32', shape: rec.dims, data: rec.data },
    CANDIDATES: { datatype: 'INT32', shape: [candidates.length], data: candidates },
  };
}
