/**
 * Zip archives for .npz files (numpy's savez/savez_compressed), read with yauzl: it finds the
 * central directory (Zip64 included), inflates deflated entries and refuses an entry whose data is
 * longer or shorter than the directory says. yauzl does not check CRC-32, so each entry's bytes are
 * checked here against the directory's CRC: a corrupt stored entry would otherwise load as numbers.
 */
import { crc32 } from 'node:zlib';
import { type Entry, fromBufferPromise, type ZipFile } from 'yauzl';

/** An opened archive: its entry names (directory order) and a reader for one entry's bytes. */
export interface ZipArchive {
  names: string[];
  /** The uncompressed bytes of the named entry, size- and CRC-checked. */
  read(name: string): Promise<Buffer>;
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Open a zip held in memory; `source` names the file in errors. */
export async function openZip(buf: Buffer, source = 'zip'): Promise<ZipArchive> {
  let zip: ZipFile;
  try {
    zip = await fromBufferPromise(buf);
  } catch (err) {
    throw new Error(`${source}: not a zip archive (${reason(err)}); truncated?`);
  }
  // The first of two same-named entries wins, as a directory lookup would.
  const entries = new Map<string, Entry>();
  try {
    for await (const e of zip.eachEntry()) if (!entries.has(e.fileName)) entries.set(e.fileName, e);
  } catch (err) {
    throw new Error(`${source}: corrupt central directory (${reason(err)})`);
  }
  return {
    names: [...entries.keys()],
    read: (name) => {
      const e = entries.get(name);
      return e ? readEntry(zip, e, source) : Promise.reject(new Error(`${source}: no entry ${name}`));
    },
  };
}

async function readEntry(zip: ZipFile, e: Entry, source: string): Promise<Buffer> {
  const what = `${source}: ${e.fileName}`;
  if (e.compressionMethod !== 0 && e.compressionMethod !== 8)
    throw new Error(`${what} uses compression method ${e.compressionMethod} (only stored and deflate are supported)`);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of await zip.openReadStreamPromise(e)) chunks.push(chunk as Buffer);
  } catch (err) {
    throw new Error(`${what} is corrupt (${reason(err)})`);
  }
  const data = Buffer.concat(chunks);
  if (crc32(data) !== e.crc32) throw new Error(`${what} fails its CRC check (corrupt archive)`);
  return data;
}
