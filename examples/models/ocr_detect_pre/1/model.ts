/** Step 1 of the `ocr` ensemble: image bytes → PAGE and DET_INPUT (examples/ocr/serve.ts detectPre). */
import type { OutputTensors, Tensors } from '../../../../src/backend/typescript/api.js';
import { detectPre } from '../../../ocr/serve.js';

export function execute(inputs: Tensors): OutputTensors {
  const { page, det } = detectPre((inputs['IMAGE']!.data as Uint8Array[])[0]!);
  return {
    DET_INPUT: { datatype: 'FP32', shape: det.dims, data: det.data },
    PAGE: { datatype: 'FP32', shape: [page.height, page.width, page.channels], data: page.data },
  };
}
