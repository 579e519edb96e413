import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { loadDataFor } from '../../../../src/optimizer/data/load.js';
import { preprocessImage } from '../../../../src/optimizer/data/image-preprocess.js';
import { decodeImage } from '../../../../src/optimizer/data/image.js';
import { openZip } from '../../../../src/optimizer/data/zip.js';
import { npzBytes } from '../../../fixtures-gen/npz-write.js';
import { encodePng } from '../../../fixtures-gen/png-encode.js';
import { buildMlp, rng } from '../models.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-opt-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const HAVE_MAGICK = spawnSync('convert', ['-version'], { encoding: 'utf8' }).stdout?.includes('ImageMagick') ?? false;

describe('.npz validation data', () => {
  for (const deflate of [false, true]) {
    it(`reads inputs and labels from a ${deflate ? 'deflated (savez_compressed)' : 'stored (savez)'} archive`, async () => {
      const next = rng(3);
      const x = Float32Array.from({ length: 5 * 16 }, next);
      const path = join(dir, `d${deflate}.npz`);
      writeFileSync(
        path,
        npzBytes(
          { x: { shape: [5, 16], data: x }, labels: { shape: [5], data: Float32Array.from([0, 1, 2, 3, 1]) } },
          deflate,
        ),
      );
      const set = await loadDataFor(buildMlp([16, 8, 4]), path);
      assert.deepEqual(set.rowShape, [16]);
      assert.deepEqual(set.rows[4], x.subarray(64, 80));
      assert.deepEqual(set.labels, [0, 1, 2, 3, 1]);
    });
  }

  it('says what is wrong with a truncated or corrupt archive', async () => {
    const good = npzBytes({ x: { shape: [2, 2], data: new Float32Array(4) } }, true);
    await assert.rejects(
      openZip(good.subarray(0, good.length - 30), 'cut.npz'),
      /cut\.npz: not a zip archive.*truncated/,
    );
    const bad = Buffer.from(good);
    bad[40] = (bad[40]! + 1) & 0xff; // a byte of the compressed payload
    writeFileSync(join(dir, 'bad.npz'), bad);
    await assert.rejects(loadDataFor(buildMlp([2, 2]), join(dir, 'bad.npz')), /bad\.npz/);
  });

  it('refuses a stored entry whose bytes fail the CRC, though its size is right', async () => {
    const bytes = npzBytes({ x: { shape: [2, 2], data: new Float32Array(4) } }, false);
    // Local header (30 + "x.npy") and the 128-byte .npy header come first: this is a float's byte.
    bytes[35 + 128 + 5] = 0x3f;
    writeFileSync(join(dir, 'crc.npz'), bytes);
    await assert.rejects(loadDataFor(buildMlp([2, 2]), join(dir, 'crc.npz')), /crc\.npz: x\.npy fails its CRC check/);
  });
});

/** A JPEG of one solid colour, from jpeg-js's own encoder. */
function solidJpeg(width: number, height: number, rgb: [number, number, number]): Buffer {
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([...rgb, 255], i * 4);
  return jpeg.encode({ width, height, data: rgba }, 90).data;
}

describe('image decoding and image folders', () => {
  it('decodes every filter type for grey, RGB and RGBA', () => {
    const next = rng(8);
    for (const ch of [1, 3, 4] as const) {
      const samples = Uint8Array.from({ length: 7 * 6 * ch }, () => Math.floor(next() * 256));
      const img = decodeImage(encodePng(7, 6, ch, samples), 't.png', 0);
      assert.equal(img.channels, ch === 1 ? 1 : 3);
      const px = (i: number) =>
        ch === 4 ? (samples[i * 4]! / 255) * (samples[i * 4 + 3]! / 255) : samples[i * ch]! / 255;
      for (const i of [0, 13, 41]) assert.ok(Math.abs(img.data[i * img.channels]! - px(i)) < 1e-6, `ch ${ch} px ${i}`);
    }
  });

  it('decodes a JPEG, told by its bytes and not its name, to RGB close to the colour encoded', () => {
    const img = decodeImage(solidJpeg(37, 23, [200, 100, 50]), 'photo.png');
    assert.deepEqual([img.width, img.height, img.channels, img.data.length], [37, 23, 3, 37 * 23 * 3]);
    let worst = 0;
    for (let i = 0; i < img.data.length; i++)
      worst = Math.max(worst, Math.abs(img.data[i]! - [200, 100, 50][i % 3]! / 255));
    assert.ok(worst <= 3 / 255, `max difference ${worst}`);
  });

  it('refuses other formats by name, saying which are supported', () => {
    const cases: [string, Buffer, RegExp][] = [
      ['a.gif', Buffer.from('GIF89a\x01\0\x01\0', 'latin1'), /a\.gif: GIF images are not supported/],
      ['b.webp', Buffer.from('RIFF\x1a\0\0\0WEBPVP8 ', 'latin1'), /b\.webp: WebP images are not supported/],
      ['c.png', Buffer.from('hello, not an image'), /c\.png: not an image file/],
      ['d.jpg', Buffer.alloc(0), /d\.jpg: not an image file/],
    ];
    for (const [name, bytes, re] of cases) {
      assert.throws(() => decodeImage(bytes, name), re);
      assert.throws(() => decodeImage(bytes, name), /\(supported formats: PNG, JPEG\)$/);
    }
  });

  it('refuses truncated and corrupt PNG and JPEG files by name', () => {
    const png = encodePng(40, 30, 3, new Uint8Array(40 * 30 * 3).fill(90));
    const jpg = solidJpeg(40, 30, [10, 20, 30]);
    for (const [format, bytes] of [
      ['PNG', png],
      ['JPEG', jpg],
    ] as const)
      for (const keep of [0.3, 0.6, 0.9, 0.99]) {
        const cut = bytes.subarray(0, Math.floor(bytes.length * keep));
        const re = new RegExp(`cut\\.img: cannot decode this ${format} file, it is truncated`);
        assert.throws(() => decodeImage(cut, 'cut.img'), re, `${format} cut to ${cut.length} bytes`);
      }
    // A header promising more rows than the image data holds (CRC fixed): pngjs alone fills them with
    // whatever memory it had.
    const tall = Buffer.from(png);
    tall.writeUInt32BE(60, 20);
    tall.writeUInt32BE(crc32(tall.subarray(12, 29)), 29);
    assert.throws(() => decodeImage(tall, 'tall.png'), /tall\.png: .*image data ends early/);
    assert.ok(decodeImage(Buffer.concat([png, Buffer.from('trailing bytes')]), 'tail.png').width === 40);
  });

  it('agrees with ImageMagick on a rendered text image, in several PNG kinds and as JPEG', {
    skip: !HAVE_MAGICK && 'imagemagick not installed',
  }, () => {
    const png = join(dir, 'text.png');
    execFileSync('convert', ['-size', '120x32', '-background', 'white', '-fill', 'black', 'label:Ag 42', png]);
    // Grey 8-bit as rendered, 16-bit grey and RGB, palette, 1-bit, Adam7-interlaced, and a JPEG.
    const variants: [string, string[]][] = [
      ['plain.png', []],
      ['grey16.png', ['-depth', '16', '-define', 'png:bit-depth=16', '-define', 'png:color-type=0']],
      ['rgb16.png', ['-define', 'png:format=png48']],
      ['pal.png', ['-define', 'png:format=png8']],
      ['bits.png', ['-monochrome']],
      ['lace.png', ['-interlace', 'PNG']],
      ['photo.jpg', ['-quality', '95']],
    ];
    for (const [name, opts] of variants) {
      const path = join(dir, name);
      execFileSync('convert', [png, ...opts, path]);
      const img = decodeImage(readFileSync(path), path);
      const ref = execFileSync('convert', [path, '-colorspace', 'sRGB', '-depth', '8', 'rgb:-']);
      let worst = 0;
      for (let i = 0; i < img.width * img.height * 3; i++) {
        const ours = img.channels === 1 ? img.data[Math.floor(i / 3)]! : img.data[i]!;
        worst = Math.max(worst, Math.abs(ours - ref[i]! / 255));
      }
      // JPEG decoders may differ by a level or two in their IDCT rounding.
      assert.ok(worst <= (name.endsWith('.jpg') ? 3 : 1) / 255 + 1e-6, `${name}: max difference ${worst}`);
    }
  });

  it('loads a class-labelled folder of PNG and JPEG with resize, mean/std and layout', async () => {
    const root = join(dir, 'imgs');
    for (const cls of ['0', '1']) {
      mkdirSync(join(root, cls), { recursive: true });
      const v = cls === '0' ? 0 : 255;
      writeFileSync(join(root, cls, 'a.png'), encodePng(8, 4, 3, new Uint8Array(8 * 4 * 3).fill(v)));
    }
    writeFileSync(
      join(root, 'preprocess.json'),
      JSON.stringify({ width: 4, height: 2, layout: 'NHWC', mean: [0.5], std: [0.5] }),
    );
    writeFileSync(join(root, '1', 'b.jpg'), solidJpeg(8, 4, [255, 255, 255]));
    const set = await loadDataFor(buildMlp([24, 2]), root);
    assert.deepEqual(set.rowShape, [2, 4, 3]);
    assert.deepEqual(set.labels, [0, 1, 1]);
    assert.ok(set.rows[0]!.every((v) => v === -1) && set.rows[1]!.every((v) => v === 1));
    assert.ok(
      set.rows[2]!.every((v) => Math.abs(v - 1) <= 6 / 255),
      'JPEG white within rounding',
    );
    writeFileSync(join(root, '1', 'c.gif'), Buffer.from('GIF89a', 'latin1'));
    await assert.rejects(loadDataFor(buildMlp([24, 2]), root), /c\.gif: GIF images are not supported/);
  });

  it('fits text lines to a fixed height, keeping the aspect ratio and padding the right', () => {
    const img = { width: 20, height: 10, channels: 1 as const, data: new Float32Array(200).fill(1) };
    const row = preprocessImage(img, { width: 16, height: 4, resize: 'fit-height', channels: 'rgb', pad: 0 });
    assert.equal(row.length, 3 * 4 * 16);
    assert.equal(row[7], 1, 'scaled image spans 8 columns');
    assert.equal(row[8], 0, 'padding after it');
  });
});
