import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadDataFor } from '../../../../src/optimizer/data/load.js';
import { preprocessImage } from '../../../../src/optimizer/data/image-preprocess.js';
import { decodePng } from '../../../../src/optimizer/data/png.js';
import { zipEntries } from '../../../../src/optimizer/data/zip.js';
import { npzBytes } from '../../../fixtures-gen/npz-write.js';
import { encodePng } from '../../../fixtures-gen/png-encode.js';
import { buildMlp, rng } from '../models.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-opt-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const HAVE_MAGICK = spawnSync('convert', ['-version'], { encoding: 'utf8' }).stdout?.includes('ImageMagick') ?? false;

describe('.npz validation data', () => {
  for (const deflate of [false, true]) {
    it(`reads inputs and labels from a ${deflate ? 'deflated (savez_compressed)' : 'stored (savez)'} archive`, () => {
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
      const set = loadDataFor(buildMlp([16, 8, 4]), path);
      assert.deepEqual(set.rowShape, [16]);
      assert.deepEqual(set.rows[4], x.subarray(64, 80));
      assert.deepEqual(set.labels, [0, 1, 2, 3, 1]);
    });
  }

  it('says what is wrong with a truncated or corrupt archive', () => {
    const good = npzBytes({ x: { shape: [2, 2], data: new Float32Array(4) } }, true);
    assert.throws(
      () => zipEntries(good.subarray(0, good.length - 30), 'cut.npz'),
      /cut\.npz: not a zip archive.*truncated/,
    );
    const bad = Buffer.from(good);
    bad[40] = (bad[40]! + 1) & 0xff; // a byte of the compressed payload
    writeFileSync(join(dir, 'bad.npz'), bad);
    assert.throws(() => loadDataFor(buildMlp([2, 2]), join(dir, 'bad.npz')), /bad\.npz/);
  });
});

describe('PNG decoding and image folders', () => {
  it('decodes every filter type for grey, RGB and RGBA', () => {
    const next = rng(8);
    for (const ch of [1, 3, 4] as const) {
      const samples = Uint8Array.from({ length: 7 * 6 * ch }, () => Math.floor(next() * 256));
      const img = decodePng(encodePng(7, 6, ch, samples), 't.png', 0);
      assert.equal(img.channels, ch === 1 ? 1 : 3);
      const px = (i: number) =>
        ch === 4 ? (samples[i * 4]! / 255) * (samples[i * 4 + 3]! / 255) : samples[i * ch]! / 255;
      for (const i of [0, 13, 41]) assert.ok(Math.abs(img.data[i * img.channels]! - px(i)) < 1e-6, `ch ${ch} px ${i}`);
    }
    assert.throws(
      () => decodePng(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0]), 'photo.jpg'),
      /JPEG is not supported/,
    );
  });

  it('agrees with ImageMagick on a rendered text image', { skip: !HAVE_MAGICK && 'imagemagick not installed' }, () => {
    const png = join(dir, 'text.png');
    execFileSync('convert', ['-size', '120x32', '-background', 'white', '-fill', 'black', 'label:Ag 42', png]);
    const img = decodePng(readFileSync(png), png);
    const ref = execFileSync('convert', [png, '-colorspace', 'sRGB', '-depth', '8', 'rgb:-']);
    let worst = 0;
    for (let i = 0; i < img.width * img.height; i++) {
      const ours = img.channels === 1 ? img.data[i]! : img.data[i * 3]!;
      worst = Math.max(worst, Math.abs(ours - ref[i * 3]! / 255));
    }
    assert.ok(worst <= 1 / 255 + 1e-6, `max difference ${worst}`);
  });

  it('loads a class-labelled folder with resize, mean/std and layout', () => {
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
    const set = loadDataFor(buildMlp([24, 2]), root);
    assert.deepEqual(set.rowShape, [2, 4, 3]);
    assert.deepEqual(set.labels, [0, 1]);
    assert.ok(set.rows[0]!.every((v) => v === -1) && set.rows[1]!.every((v) => v === 1));
    writeFileSync(join(root, '1', 'b.jpg'), Buffer.from([0xff, 0xd8]));
    assert.throws(() => loadDataFor(buildMlp([24, 2]), root), /b\.jpg: only PNG is supported/);
  });

  it('fits text lines to a fixed height, keeping the aspect ratio and padding the right', () => {
    const img = { width: 20, height: 10, channels: 1 as const, data: new Float32Array(200).fill(1) };
    const row = preprocessImage(img, { width: 16, height: 4, resize: 'fit-height', channels: 'rgb', pad: 0 });
    assert.equal(row.length, 3 * 4 * 16);
    assert.equal(row[7], 1, 'scaled image spans 8 columns');
    assert.equal(row[8], 0, 'padding after it');
  });
});
