/**
 * One infer call's use of system shared memory, the same for HTTP and gRPC. The decoder records
 * which inputs and outputs name a region (ShmPlan) and leaves a placeholder for each such input;
 * ShmCall.open holds every region the call names (inputs, then outputs: Triton resolves them in
 * that order while decoding, with the same texts), reads the inputs into tensors and builds the
 * request the router gets. After the call, writeOutputs puts each output named in the plan into
 * its region and says which ones went there; release() ends the holds, so a region unregistered
 * meanwhile is closed only once this call is done with it.
 */
import {
  bytesOf,
  type DataType,
  elementCount,
  elementSize,
  encodeBytesElements,
  type InferRequest,
  type InferResponse,
  isBytesData,
  type ParamValue,
  type Tensor,
} from '../../core/index.js';
import { shmInputSizeMismatch, shmOutputTooSmall, shmRegionNotFound } from './shared-memory.js';
import type { ShmLease, ShmRef, SystemSharedMemory } from './shm-regions.js';
import { tensorFromWire } from './tensor-wire.js';

/** An input whose data is in a region: where it sits in the request's inputs, and what it is. */
export interface ShmInput {
  index: number;
  name: string;
  datatype: DataType;
  shape: number[];
  ref: ShmRef;
}

/** What a decoder found: inputs read from regions, and outputs (by name) written to them. */
export interface ShmPlan {
  inputs: ShmInput[];
  outputs: Map<string, ShmRef>;
}

export function emptyShmPlan(): ShmPlan {
  return { inputs: [], outputs: new Map() };
}

/** The tensor a decoder puts where a shared-memory input goes until ShmCall.open reads it. */
export function shmPlaceholder(name: string, datatype: DataType, shape: number[]): Tensor {
  return { name, datatype, shape, data: [] };
}

/** For decoders used without a region table (tests, fuzzing): every named region is unknown. */
export function refuseShmPlan(plan: ShmPlan | undefined): void {
  const first = plan?.inputs[0]?.ref ?? plan?.outputs.values().next().value;
  if (first !== undefined) throw shmRegionNotFound(first.region);
}

/** Response parameters of an output that went to shared memory: the request's, echoed. */
export type ShmOutputParams = ReadonlyMap<string, Record<string, ParamValue>>;

/** The wire bytes of an output (numeric: a view, no copy; BYTES: length-prefixed). */
function wireBytes(t: Tensor): Uint8Array {
  return isBytesData(t.data) ? encodeBytesElements(t.data) : bytesOf(t.data);
}

export class ShmCall {
  private held = true;

  private constructor(
    /** The request with every shared-memory input read. */
    readonly request: InferRequest,
    private readonly outputs: ReadonlyMap<string, { ref: ShmRef; lease: ShmLease }>,
    private readonly leases: readonly ShmLease[],
  ) {}

  /** Holds the plan's regions and reads its inputs; nothing stays held when it throws. */
  static async open(regions: SystemSharedMemory, plan: ShmPlan, request: InferRequest): Promise<ShmCall> {
    const leases: ShmLease[] = [];
    try {
      const inputLeases = plan.inputs.map((i) => {
        const lease = regions.acquire(i.ref);
        leases.push(lease);
        return lease;
      });
      const outputs = new Map<string, { ref: ShmRef; lease: ShmLease }>();
      for (const [name, ref] of plan.outputs) {
        const lease = regions.acquire(ref);
        leases.push(lease);
        outputs.set(name, { ref, lease });
      }
      // Triton's core checks a fixed-size input's byte size once the request is formed; BYTES
      // sizes depend on the data, which tensorFromWire checks against the shape.
      for (const i of plan.inputs) {
        if (i.datatype === 'BYTES') continue;
        const expected = elementCount(i.shape) * elementSize(i.datatype);
        if (i.ref.byteSize !== expected) throw shmInputSizeMismatch(i.name, request.model, expected, i.ref.byteSize);
      }
      const tensors = await Promise.all(
        plan.inputs.map(async (i, k) =>
          tensorFromWire(i.name, i.datatype, i.shape, await (inputLeases[k] as ShmLease).read()),
        ),
      );
      const inputs = request.inputs.slice();
      plan.inputs.forEach((i, k) => {
        inputs[i.index] = tensors[k] as Tensor;
      });
      return new ShmCall({ ...request, inputs }, outputs, leases);
    } catch (err) {
      for (const lease of leases) lease.release();
      throw err;
    }
  }

  /**
   * Writes the response's outputs that the plan puts in shared memory; resolves to their response
   * parameters (the others are answered as usual). Every size is checked before any byte is written.
   */
  async writeOutputs(response: InferResponse): Promise<ShmOutputParams> {
    const writes: Array<{ lease: ShmLease; bytes: Uint8Array }> = [];
    const params = new Map<string, Record<string, ParamValue>>();
    for (const t of response.outputs) {
      const target = this.outputs.get(t.name);
      if (target === undefined) continue;
      const bytes = wireBytes(t);
      const { ref, lease } = target;
      if (bytes.byteLength > ref.byteSize) throw shmOutputTooSmall(t.name, ref.byteSize, bytes.byteLength);
      writes.push({ lease, bytes });
      const p: Record<string, ParamValue> = { shared_memory_region: ref.region, shared_memory_byte_size: ref.byteSize };
      if (ref.offset !== 0) p.shared_memory_offset = ref.offset;
      params.set(t.name, p);
    }
    await Promise.all(writes.map(({ lease, bytes }) => lease.write(bytes)));
    return params;
  }

  /** Ends every hold (idempotent). */
  release(): void {
    if (!this.held) return;
    this.held = false;
    for (const lease of this.leases) lease.release();
  }
}
