// A hand-written SVG chart of the comparison: one panel per model, throughput (x, log scale: the
// in-process limit can be 50× the served numbers) against p99 latency (y, log scale), one marker per system, the in-process limit as a vertical line.

/** One point of a panel. */
export interface ChartPoint {
  label: string;
  throughput: number;
  p99Ms: number;
}

/** One model's panel. */
export interface ChartPanel {
  title: string;
  limit?: number;
  points: ChartPoint[];
}

const W = 420;
const H = 320;
const M = { l: 60, r: 15, t: 30, b: 45 };
const COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(p: ChartPanel, x0: number, colorOf: (l: string) => string): string {
  const pts = p.points.filter((q) => q.throughput > 0 && q.p99Ms > 0);
  const xs = [...pts.map((q) => q.throughput), ...(p.limit ? [p.limit] : [])];
  const xlo = 10 ** Math.floor(Math.log10(Math.min(...xs, 10)));
  const xhi = 10 ** Math.ceil(Math.log10(Math.max(...xs, 10)));
  const ys = pts.map((q) => q.p99Ms);
  const ylo = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
  const yhi = 10 ** Math.ceil(Math.log10(Math.max(...ys, 10)));
  const px = (v: number) => x0 + M.l + (Math.log10(v / xlo) / Math.log10(xhi / xlo)) * (W - M.l - M.r);
  const py = (v: number) => M.t + (1 - Math.log10(v / ylo) / Math.log10(yhi / ylo)) * (H - M.t - M.b);
  const out = [`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`];
  out.push(
    `<rect x="${x0 + M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#999"/>`,
  );
  for (let d = ylo; d <= yhi; d *= 10)
    out.push(
      `<line x1="${x0 + M.l}" x2="${x0 + W - M.r}" y1="${py(d)}" y2="${py(d)}" stroke="#eee"/><text x="${x0 + M.l - 5}" y="${py(d) + 4}" text-anchor="end" font-size="10">${d} ms</text>`,
    );
  for (let d = xlo; d <= xhi; d *= 10)
    out.push(
      `<line x1="${px(d)}" x2="${px(d)}" y1="${M.t}" y2="${H - M.b}" stroke="#eee"/><text x="${px(d)}" y="${H - M.b + 14}" text-anchor="middle" font-size="10">${d}</text>`,
    );
  out.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">inferences/s</text>`);
  if (p.limit)
    out.push(
      `<line x1="${px(p.limit)}" x2="${px(p.limit)}" y1="${M.t}" y2="${H - M.b}" stroke="#000" stroke-dasharray="4 3"/><text x="${px(p.limit) - 3}" y="${M.t + 12}" text-anchor="end" font-size="10">in-process</text>`,
    );
  for (const q of pts)
    out.push(
      `<g><title>${esc(q.label)}: ${q.throughput.toFixed(1)}/s, p99 ${q.p99Ms.toFixed(1)} ms</title><circle cx="${px(q.throughput)}" cy="${py(q.p99Ms)}" r="5" fill="${colorOf(q.label)}" fill-opacity="0.85" stroke="#333"/></g>`,
    );
  return out.join('\n');
}

/** The whole chart as an SVG document. */
export function chartSvg(panels: ChartPanel[], caption: string): string {
  const labels = [...new Set(panels.flatMap((p) => p.points.map((q) => q.label)))];
  const colorOf = (l: string) => COLORS[labels.indexOf(l) % COLORS.length]!;
  const width = Math.max(1, panels.length) * W;
  const legendY = H + 10;
  const legend = labels.map(
    (l, i) =>
      `<circle cx="${20 + (i % 3) * 280}" cy="${legendY + 10 + Math.floor(i / 3) * 18}" r="5" fill="${colorOf(l)}"/><text x="${30 + (i % 3) * 280}" y="${legendY + 14 + Math.floor(i / 3) * 18}" font-size="11">${esc(l)}</text>`,
  );
  const height = legendY + 30 + Math.ceil(labels.length / 3) * 18;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels.map((p, i) => panel(p, i * W, colorOf)),
    ...legend,
    `<text x="10" y="${height - 6}" font-size="10" fill="#555">${esc(caption)}</text>`,
    '</svg>',
  ].join('\n');
}
