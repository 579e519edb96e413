/**
 * The registered system shared-memory regions (Triton's SharedMemoryManager, protocol.md §B.8):
 * one table for HTTP and gRPC. A region is a byte range of a POSIX shared-memory object, a
 * regular file directly under /dev/shm that the client created (tritonclient's shared_memory
 * utility: key "/input_data" → /dev/shm/input_data, as glibc's shm_open maps it).
 *
 * Node has no mmap, so a region is a file descriptor opened at register time and every request
 * reads (inputs) or writes (outputs) its range afresh with positioned async I/O on the libuv pool:
 * a large tensor never blocks the event loop, and a file the client shrank is an error instead of
 * a SIGBUS. Safety (reliability.md S9/S10): the key is one path segment (no '/', '.', '..' or
 * NUL), the file is opened with O_NOFOLLOW (a symbolic link is refused, never followed) and must
 * be a regular file whose size covers offset + byte_size. Unregistering a region in use hides it
 * at once (new requests get "Unable to find…") but closes its descriptor only when the last
 * request using it is done.
 */
import { constants, type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { InferError, invalidArg } from '../../core/index.js';
import {
  shmEcho,
  shmAlreadyRegistered,
  shmInvalidOffset,
  shmInvalidRange,
  shmInvalidRegisterArgs,
  shmRegionNotFound,
  shmStatusNotFound,
  shmUnableToOpen,
} from './shared-memory.js';

/** Where POSIX shared-memory objects live on Linux. */
export const DEFAULT_SHM_DIR = '/dev/shm';

/** Regions the server holds at most: each keeps a file descriptor open. */
export const DEFAULT_MAX_SHM_REGIONS = 1024;

/** Longest region name accepted (names are map keys, echoed in status and errors). */
export const MAX_SHM_NAME = 256;

// NAME_MAX of Linux file systems: a longer shm_open name fails there too.
const NAME_MAX = 255;

// O_NONBLOCK: a FIFO planted under the key must not hang the open (it is refused just after).
const OPEN_FLAGS = constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface ShmRegionStatus {
  name: string;
  key: string;
  offset: number;
  byteSize: number;
}

/** Which part of a region one tensor uses: `offset` bytes into the region, `byteSize` long. */
export interface ShmRef {
  region: string;
  offset: number;
  byteSize: number;
}

/** One request's hold on a byte range of a region; the descriptor stays open until release(). */
export interface ShmLease {
  /** Reads the whole range into memory of its own (a whole ArrayBuffer: transferable). */
  read(): Promise<Uint8Array>;
  /** Writes `bytes` at the start of the range (the caller checked they fit). */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends the hold; idempotent. */
  release(): void;
}

export interface SystemSharedMemoryOptions {
  /** The directory of shared-memory objects (tests use their own); default /dev/shm. */
  dir?: string;
  maxRegions?: number;
}

function shrunk(region: string): InferError {
  return invalidArg(`shared memory region '${shmEcho(region)}' is smaller than when it was registered`);
}

/** A registered region: its status and descriptor, closed once retired and no longer used. */
class Region {
  private uses = 0;
  private retired = false;
  private closed = false;

  constructor(
    readonly status: ShmRegionStatus,
    private readonly file: FileHandle,
    private readonly onClose: () => void,
  ) {}

  lease(offset: number, byteSize: number): ShmLease {
    this.uses++;
    const start = this.status.offset + offset;
    let held = true;
    return {
      read: () => this.read(start, byteSize),
      write: (bytes) => this.write(start, bytes),
      release: () => {
        if (!held) return;
        held = false;
        this.uses--;
        this.closeIfIdle();
      },
    };
  }

  retire(): void {
    this.retired = true;
    this.closeIfIdle();
  }

  private closeIfIdle(): void {
    if (!this.retired || this.uses > 0 || this.closed) return;
    this.closed = true;
    this.onClose();
    this.file.close().catch(() => {});
  }

  private async read(start: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.file.read(out, done, length - done, start + done);
      if (bytesRead === 0) throw shrunk(this.status.name);
      done += bytesRead;
    }
    return out;
  }

  private async write(start: number, bytes: Uint8Array): Promise<void> {
    // Writing past the end would grow the client's object; refuse instead.
    if ((await this.file.stat()).size < start + bytes.byteLength) throw shrunk(this.status.name);
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.file.write(bytes, done, bytes.byteLength - done, start + done);
      done += bytesWritten;
    }
  }
}

/** The file a key names under `dir`, or a refusal: one path segment, as shm_open accepts it. */
export function shmKeyPath(dir: string, key: string): string {
  // glibc's shm_open skips leading slashes: "/input_data" and "input_data" are the same object.
  const name = key.replace(/^\/+/, '');
  const bad =
    name === '' ||
    name === '.' ||
    name === '..' ||
    name.includes('/') ||
    name.includes('\0') ||
    Buffer.byteLength(name) > NAME_MAX;
  if (bad) throw shmUnableToOpen(key, `a key names one object directly under ${dir} ('/name', no '/', '.' or '..')`);
  return join(dir, name);
}

/** A non-negative safe integer from a wire number (gRPC uint64 arrives as bigint). */
function size(v: number | bigint): number | undefined {
  const n = typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : -1) : v;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Opens the object without following a link; resolves to it and its size. */
async function openObject(path: string, key: string): Promise<{ file: FileHandle; fileSize: number }> {
  let file: FileHandle;
  try {
    file = await open(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ELOOP'
        ? 'it is a symbolic link, which is never followed'
        : code === 'ENOENT'
          ? 'no such shared memory object'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : 'it cannot be opened for reading and writing';
    throw shmUnableToOpen(key, why);
  }
  try {
    const st = await file.stat();
    if (!st.isFile()) throw shmUnableToOpen(key, 'it is not a regular file');
    return { file, fileSize: st.size };
  } catch (err) {
    await file.close().catch(() => {});
    throw err;
  }
}

/** The region table. */
export class SystemSharedMemory {
  private readonly regions = new Map<string, Region>();
  // Names whose registration is opening its file: taken, not yet usable.
  private readonly pending = new Set<string>();
  private readonly dir: string;
  private readonly maxRegions: number;
  private files = 0;

  constructor(options: SystemSharedMemoryOptions = {}) {
    this.dir = options.dir ?? DEFAULT_SHM_DIR;
    this.maxRegions = options.maxRegions ?? DEFAULT_MAX_SHM_REGIONS;
  }

  /** Descriptors open: registered regions plus unregistered ones still in use. */
  get openFiles(): number {
    return this.files;
  }

  /** Registers `name` as `byteSize` bytes at `offset` of the object `key`. */
  async register(name: string, key: string, offset: number | bigint, byteSize: number | bigint): Promise<void> {
    if (name === '') throw invalidArg("'region name' is necessary to register system shared memory region");
    if (name.length > MAX_SHM_NAME)
      throw invalidArg(`shared memory region name '${shmEcho(name)}' is longer than ${MAX_SHM_NAME} characters`);
    if (this.regions.has(name) || this.pending.has(name)) throw shmAlreadyRegistered(name);
    if (this.regions.size + this.pending.size >= this.maxRegions)
      throw new InferError(
        'IG_ERR_SHM_LIMIT',
        `cannot register shared memory region '${shmEcho(name)}': ${this.maxRegions} regions are registered, ` +
          'the most this server holds; unregister some first',
      );
    const path = shmKeyPath(this.dir, key);
    const off = size(offset);
    const bytes = size(byteSize);
    // Triton cannot map 0 bytes either; an unsafe integer cannot be a real range.
    if (off === undefined || bytes === undefined || bytes === 0) throw shmInvalidRegisterArgs(name);
    this.pending.add(name);
    try {
      const { file, fileSize } = await openObject(path, key);
      if (off + bytes > fileSize) {
        await file.close().catch(() => {});
        throw shmInvalidRegisterArgs(name);
      }
      this.files++;
      const status = { name, key, offset: off, byteSize: bytes };
      this.regions.set(name, new Region(status, file, () => this.files--));
    } finally {
      this.pending.delete(name);
    }
  }

  /** Unregisters `name`; an unknown name is not an error (Triton's behaviour). */
  unregister(name: string): void {
    const region = this.regions.get(name);
    if (region === undefined) return;
    this.regions.delete(name);
    region.retire();
  }

  unregisterAll(): void {
    for (const name of [...this.regions.keys()]) this.unregister(name);
  }

  /** One region (NOT_FOUND when unknown) or all, by name as Triton's std::map orders them. */
  status(name?: string): ShmRegionStatus[] {
    if (name !== undefined && name !== '') {
      const region = this.regions.get(name);
      if (region === undefined) throw shmStatusNotFound(name);
      return [{ ...region.status }];
    }
    return [...this.regions.values()]
      .map((r) => ({ ...r.status }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Holds `ref`'s byte range for one request, after Triton's bounds checks. */
  acquire(ref: ShmRef): ShmLease {
    const region = this.regions.get(ref.region);
    if (region === undefined) throw shmRegionNotFound(ref.region);
    const limit = region.status.byteSize;
    if (ref.offset >= limit) throw shmInvalidOffset(ref.region);
    if (ref.offset + ref.byteSize > limit) throw shmInvalidRange(ref.region);
    return region.lease(ref.offset, ref.byteSize);
  }

  /** Server stop: every region unregistered (descriptors close as their last users finish). */
  close(): void {
    this.unregisterAll();
  }
}
