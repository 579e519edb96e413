/**
 * A folder of PNG or JPEG images as a validation set: `<dir>/preprocess.json` (or a given spec file) says
 * how to turn each image into a model row; images in sub-folders are labelled by the sub-folder
 * (integer names are the class index, other names are numbered in sorted order); images directly in
 * the folder are unlabelled. Files with other image extensions are listed too, so that a GIF or WebP
 * is refused by name (the format is read from the bytes) rather than silently left out.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ValidationSet } from './validation-set.js';
import { checkSpec, type PreprocessSpec, preprocessImage, rowShapeOf } from './image-preprocess.js';
import { decodeImage } from './image.js';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp', '.tif', '.tiff']);

/** Load and preprocess every image of a folder (sorted by path) into one set. */
export function imageFolderSet(input: string, dir: string, specPath?: string): ValidationSet {
  const spec = readSpec(specPath ?? join(dir, 'preprocess.json'));
  const files = listImages(dir);
  if (files.length === 0)
    throw new Error(`${dir}: no images found (PNG or JPEG files, optionally in class sub-folders)`);
  const classes = classIndex([...new Set(files.map((f) => f.cls).filter((c): c is string => c !== undefined))]);
  const rows = files.map((f) => preprocessImage(decodeImage(readFileSync(f.path), f.path), spec));
  const set: ValidationSet = { input, rowShape: rowShapeOf(spec), rows };
  if (files.every((f) => f.cls !== undefined)) set.labels = files.map((f) => classes.get(f.cls!)!);
  return set;
}

function readSpec(path: string): PreprocessSpec {
  if (!existsSync(path))
    throw new Error(
      `${path}: missing preprocessing spec, e.g. {"width":28,"height":28,"channels":"gray","layout":"NCHW"}`,
    );
  let spec: PreprocessSpec;
  try {
    spec = JSON.parse(readFileSync(path, 'utf8')) as PreprocessSpec;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return checkSpec(spec, path);
}

function listImages(dir: string): { path: string; cls?: string }[] {
  const out: { path: string; cls?: string }[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort())
        if (IMAGE_EXT.has(extname(f).toLowerCase())) out.push({ path: join(p, f), cls: name });
    } else if (IMAGE_EXT.has(extname(name).toLowerCase())) out.push({ path: p });
  }
  return out;
}

// Integer folder names are class indices; otherwise classes are numbered in sorted order.
function classIndex(names: string[]): Map<string, number> {
  const numeric = names.every((n) => /^\d+$/.test(n));
  const sorted = [...names].sort();
  return new Map(names.map((n) => [n, numeric ? Number(n) : sorted.indexOf(n)]));
}
