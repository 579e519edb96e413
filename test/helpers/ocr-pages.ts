// Pages of text for the OCR tests, rendered with ImageMagick: test/integration/ocr-pipeline.test.ts
// reads them with the pipeline on onnxruntime sessions, test/e2e/ocr.test.ts with the served `ocr`
// ensemble. 60 fixed sentences on 13 pages of 3–5 lines (two of them upside down) and two
// single-line images, in several fonts and sizes, and how a page's reading is scored.
import { execFileSync, spawnSync } from 'node:child_process';

export const CONVERT = '/usr/local/bin/convert';
/** Whether ImageMagick's convert is there (apt-get install -y imagemagick). */
export const haveConvert =
  spawnSync(CONVERT, ['-version'], { encoding: 'utf8' }).stdout?.includes('ImageMagick') ?? false;

/** Fixed text: English words and digits, no punctuation the Chinese dictionary could swap. */
export const SENTENCES = [
  'Invoice number 48213 due in 30 days',
  'Total amount 1250 dollars',
  'Shipping address 221 Baker Street',
  'Order 7734 shipped on Monday',
  'Customer service line 5550199',
  'Batch size 16 with 4 workers',
  'The quick brown fox jumps over the lazy dog',
  'Model server latency 12 ms at p99',
  'Room 404 is on the second floor',
  'Flight 2718 departs at gate 31',
  'Meeting moved to Thursday at 3 pm',
  'Please return the form by June 15',
  'Serial number 8K2Q7 verified',
  'Temperature reached 38 degrees today',
  'Chapter 12 The long way home',
  'Warehouse 9 holds 3200 boxes',
  'Account balance 98765',
  'Train 45 to Berlin leaves at 18 00',
  'Version 2 of the report is ready',
  'Call me back after 5 tonight',
  'Population 1400000 in 2021',
  'Step 3 insert the blue cable',
  'Quarterly revenue grew 17 percent',
  'Ticket 66012 closed by support',
  'Delivery window 9 to 11 am',
  'Parcel weighs 2 kilograms',
  'Lot 581 expires in December',
  'Invoice total before tax 640',
  'Seat 14C by the window',
  'Page 7 of 9',
  'Bus 23 stops at Oak Avenue',
  'Reference code ZX81 approved',
  'Open daily from 8 to 20',
  'Floor plan version 6',
  'Order quantity 250 units',
  'Check in opens at 14 00',
  'Highway 101 closed for repairs',
  'Library card 300921 renewed',
  'Speed limit 50 in town',
  'Project kickoff on April 2',
  'Green tea and 2 cookies',
  'Platform 9 for the night train',
  'Budget approved for 2025',
  'Sensor 17 reports 42 units',
  'Return policy lasts 60 days',
  'Gate 12 boards at 7 45',
  'Printer 3 is out of paper',
  'Download size 850 megabytes',
  'Apartment 5B has two rooms',
  'Recipe serves 6 people',
  'Concert starts at 9 tonight',
  'Pay 20 dollars at the desk',
  'Winter sale ends on Sunday',
  'Museum closed on Mondays',
  'Route 66 runs west',
  'Battery at 73 percent',
  'Package 90210 delivered',
  'Keep this receipt for 30 days',
  'Lunch break from 12 to 13',
  'Table 8 ordered soup',
];

export interface PageSpec {
  font: string;
  size: number;
  lines: string[];
  rotate180?: boolean;
  single?: boolean;
}

/** Font, point size, lines, and how the image is made: a page, a page upside down, or one line. */
const LAYOUT: [font: string, size: number, lines: number, kind?: 'rotate180' | 'single'][] = [
  ['DejaVu-Sans', 28, 5],
  ['DejaVu-Serif', 34, 4],
  ['Helvetica', 24, 5],
  ['Times-Roman', 40, 4],
  ['Courier-Bold', 30, 5],
  ['DejaVu-Sans-Mono', 26, 4],
  ['Palatino-Roman', 36, 5],
  ['DejaVu-Sans-Bold', 32, 4],
  ['DejaVu-Serif', 30, 4, 'rotate180'],
  ['Helvetica-Bold', 26, 5, 'rotate180'],
  ['Bookman-Light', 28, 5],
  ['NewCenturySchlbk-Roman', 22, 5],
  ['AvantGarde-Book', 44, 3],
  ['Helvetica', 32, 1, 'single'],
  ['DejaVu-Sans', 22, 1, 'single'],
];
// 13 pages of 3–5 lines (two upside down) and two single-line images: 60 lines, each sentence once.
export const PAGES: PageSpec[] = LAYOUT.map(([font, size, n, kind], i) => {
  const start = LAYOUT.slice(0, i).reduce((sum, l) => sum + l[2], 0);
  return {
    font,
    size,
    lines: SENTENCES.slice(start, start + n),
    rotate180: kind === 'rotate180',
    single: kind === 'single',
  };
});

/** The page as PNG bytes. */
export function renderPng(page: PageSpec): Buffer {
  const args: string[] = [];
  if (page.single) {
    args.push('-background', 'white', '-fill', 'black', '-font', page.font, '-pointsize', String(page.size));
    args.push(`label:${page.lines[0]}`, '-bordercolor', 'white', '-border', '12');
  } else {
    // One label per line (sized to its text, so nothing is cut off), 0.8 em apart, with varied
    // left indents, stacked left-aligned on a white page with a border.
    args.push('-background', 'white', '-fill', 'black', '-font', page.font, '-pointsize', String(page.size));
    page.lines.forEach((t, i) => {
      args.push('(', `label:${t}`, '-splice', `${(i * 37) % 90}x${i ? Math.round(page.size * 0.8) : 0}`, ')');
    });
    args.push('-append', '-bordercolor', 'white', '-border', '40x30');
    if (page.rotate180) args.push('-rotate', '180');
  }
  return execFileSync(CONVERT, [...args, 'png:-'], { maxBuffer: 64 << 20 });
}

/** What a reading of the page should be, in order: an upside-down page's lines bottom to top. */
export function expectedLines(page: PageSpec): string[] {
  return page.rotate180 ? [...page.lines].reverse() : page.lines;
}

/**
 * Lines read exactly at their place, out of the larger of the two counts: extra detections are
 * errors too, so a line split in two cannot pass as two right ones.
 */
export function scoreLines(truth: string[], got: string[]): { right: number; total: number } {
  return { right: truth.filter((t, j) => got[j] === t).length, total: Math.max(truth.length, got.length) };
}
