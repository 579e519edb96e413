/** Step 3 of the `ocr` ensemble: DET_MAP + PAGE → boxes and crops (examples/ocr/serve.ts cropStep). */
import type { OutputTensors, Tensors } from '../../../../src/backend/typescript/api.js';
import { cropStep, pageOf } from '../../../ocr/serve.js';

export function execute(inputs: Tensors): OutputTensors {
  const map = inputs['DET_MAP']!;
  const page = inputs['PAGE']!;
  const out = cropStep(
    { data: map.data as Float32Array, dims: map.shape },
    pageOf(page.shape, page.data as Float32Array),
  );
  return {
    CLS_INPUT: { datatype: 'FP32', shape: out.cls.dims, data: out.cls.data },
    CROPS: { datatype: 'FP32', shape: [out.crops.data.length], data: out.crops.data },
    CROP_DIMS: { datatype: 'INT32', shape: [out.crops.dims.length / 3, 3], data: out.crops.dims },
    LINES: { datatype: 'INT32', shape: [1], data: Int32Array.of(out.lines) },
    DET_BOXES: { datatype: 'FP32', shape: [out.lines, 8], data: out.boxes },
    DET_SCORES: { datatype: 'FP32', shape: [out.lines], data: out.scores },
  };
}
