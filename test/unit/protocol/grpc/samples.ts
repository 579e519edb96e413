/** One sample tensor per datatype, with its typed-contents form where the protocol has one. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { DataType, Tensor } from '../../../../src/core/index.js';
import type { InferTensorContentsSchema } from '../../../../src/gen/grpc_service_pb.js';

export interface Sample {
  datatype: DataType;
  data: Tensor['data'];
  contents?: MessageInitShape<typeof InferTensorContentsSchema>;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

export const SAMPLES: Sample[] = [
  { datatype: 'BOOL', data: Uint8Array.of(1, 0, 1), contents: { boolContents: [true, false, true] } },
  { datatype: 'UINT8', data: Uint8Array.of(0, 255, 7), contents: { uintContents: [0, 255, 7] } },
  { datatype: 'UINT16', data: Uint16Array.of(0, 65535, 7), contents: { uintContents: [0, 65535, 7] } },
  { datatype: 'UINT32', data: Uint32Array.of(0, 4294967295, 7), contents: { uintContents: [0, 4294967295, 7] } },
  {
    datatype: 'UINT64',
    data: BigUint64Array.of(0n, 2n ** 64n - 1n, 7n),
    contents: { uint64Contents: [0n, 2n ** 64n - 1n, 7n] },
  },
  { datatype: 'INT8', data: Int8Array.of(-128, 127, 0), contents: { intContents: [-128, 127, 0] } },
  { datatype: 'INT16', data: Int16Array.of(-32768, 32767, 1), contents: { intContents: [-32768, 32767, 1] } },
  {
    datatype: 'INT32',
    data: Int32Array.of(-2147483648, 2147483647, 1),
    contents: { intContents: [-2147483648, 2147483647, 1] },
  },
  {
    datatype: 'INT64',
    data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 1n),
    contents: { int64Contents: [-(2n ** 63n), 2n ** 63n - 1n, 1n] },
  },
  { datatype: 'FP16', data: Uint16Array.of(0x3c00, 0xc000, 0) },
  { datatype: 'BF16', data: Uint16Array.of(0x3f80, 0xbf80, 0) },
  { datatype: 'FP32', data: Float32Array.of(1.5, -2.25, 3e-8), contents: { fp32Contents: [1.5, -2.25, 3e-8] } },
  { datatype: 'FP64', data: Float64Array.of(0.1, -1e300, 5e-324), contents: { fp64Contents: [0.1, -1e300, 5e-324] } },
  {
    datatype: 'BYTES',
    data: [utf8('hello'), new Uint8Array(0), Uint8Array.of(0, 255)],
    contents: { bytesContents: [utf8('hello'), new Uint8Array(0), Uint8Array.of(0, 255)] },
  },
];
