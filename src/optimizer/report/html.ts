/**
 * The variant report as one self-contained HTML page: inline CSS and inline SVG charts (size vs
 * latency, latency vs accuracy, per-variant bars), the full table and notes. No scripts, fonts or
 * other external assets, so the file can be archived or mailed as is.
 */
import type { OptimizeReport, VariantReport } from '../measure/report-types.js';

interface Point {
  label: string;
  x: number;
  y: number;
}

const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];
const W = 520;
const H = 320;
const PAD = { l: 64, r: 20, t: 28, b: 48 };

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : a >= 0.01 ? v.toFixed(3) : v.toExponential(1);
}

// Axis bounds with a little margin; a single value gets a symmetric window around it.
function bounds(vals: number[]): [number, number] {
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  if (hi - lo < 1e-12) {
    const d = Math.abs(hi) * 0.1 || 1;
    return [lo - d, hi + d];
  }
  const m = (hi - lo) * 0.08;
  lo -= m;
  hi += m;
  return [lo, hi];
}

/** An SVG scatter plot, one labelled, coloured point per variant. */
export function scatterSvg(title: string, xLabel: string, yLabel: string, pts: Point[]): string {
  const ok = pts.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (ok.length === 0) return '';
  const [x0, x1] = bounds(ok.map((p) => p.x));
  const [y0, y1] = bounds(ok.map((p) => p.y));
  const sx = (v: number) => PAD.l + ((v - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const sy = (v: number) => H - PAD.b - ((v - y0) / (y1 - y0)) * (H - PAD.t - PAD.b);
  const parts = [axes(title, xLabel, yLabel)];
  for (let i = 0; i <= 4; i++) {
    const xv = x0 + ((x1 - x0) * i) / 4;
    const yv = y0 + ((y1 - y0) * i) / 4;
    parts.push(`<text x="${sx(xv)}" y="${H - PAD.b + 16}" text-anchor="middle" class="tick">${fmt(xv)}</text>`);
    parts.push(`<text x="${PAD.l - 6}" y="${sy(yv) + 4}" text-anchor="end" class="tick">${fmt(yv)}</text>`);
  }
  ok.forEach((p, i) => {
    const c = COLORS[i % COLORS.length];
    parts.push(
      `<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="6" fill="${c}"><title>${escapeHtml(p.label)}</title></circle>`,
    );
    parts.push(`<text x="${sx(p.x) + 9}" y="${sy(p.y) - 8}" class="lbl">${escapeHtml(p.label)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img"><title>${escapeHtml(title)}</title>${parts.join('')}</svg>`;
}

function axes(title: string, xLabel: string, yLabel: string): string {
  const bottom = H - PAD.b;
  return [
    `<text x="${W / 2}" y="16" text-anchor="middle" class="ttl">${escapeHtml(title)}</text>`,
    `<line x1="${PAD.l}" y1="${bottom}" x2="${W - PAD.r}" y2="${bottom}" stroke="#555"/>`,
    `<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${bottom}" stroke="#555"/>`,
    `<text x="${(PAD.l + W - PAD.r) / 2}" y="${H - 10}" text-anchor="middle" class="axl">${escapeHtml(xLabel)}</text>`,
    `<text x="14" y="${(PAD.t + bottom) / 2}" text-anchor="middle" class="axl" transform="rotate(-90 14 ${(PAD.t + bottom) / 2})">${escapeHtml(yLabel)}</text>`,
  ].join('');
}

/** A horizontal bar chart of one value per variant. */
export function barSvg(title: string, unit: string, bars: { label: string; value: number }[]): string {
  const ok = bars.filter((b) => Number.isFinite(b.value));
  if (ok.length === 0) return '';
  const rowH = 26;
  const h = PAD.t + ok.length * rowH + 10;
  const max = Math.max(...ok.map((b) => b.value)) || 1;
  const left = 190;
  const span = W - left - 80;
  const rows = ok.map((b, i) => {
    const y = PAD.t + i * rowH;
    const w = Math.max(1, (b.value / max) * span);
    return (
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end" class="lbl">${escapeHtml(b.label)}</text>` +
      `<rect x="${left}" y="${y + 4}" width="${w}" height="${rowH - 8}" fill="${COLORS[i % COLORS.length]}"/>` +
      `<text x="${left + w + 6}" y="${y + 16}" class="tick">${fmt(b.value)} ${escapeHtml(unit)}</text>`
    );
  });
  const head = `<text x="${W / 2}" y="16" text-anchor="middle" class="ttl">${escapeHtml(title)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" role="img"><title>${escapeHtml(title)}</title>${head}${rows.join('')}</svg>`;
}

// Accuracy axis: top-1 when labels were given, else argmax agreement, else max abs error.
function accuracyOf(v: VariantReport): { value: number; label: string } | undefined {
  const a = v.accuracy;
  if (!a) return undefined;
  if (a.top1 !== undefined) return { value: a.top1 * 100, label: 'top-1 accuracy %' };
  if (a.agreement !== undefined) return { value: a.agreement * 100, label: 'agreement with original %' };
  return { value: a.maxAbsErr, label: 'max abs error vs original' };
}

function charts(r: OptimizeReport): string[] {
  const vs = r.variants;
  const b1 = vs[0]?.latency[0]?.batch;
  const bN = vs[0]?.latency[vs[0].latency.length - 1]?.batch;
  const lat = (v: VariantReport, b: number | undefined) => v.latency.find((l) => l.batch === b)?.p50Ms ?? Number.NaN;
  const kb = (v: VariantReport) => v.sizeBytes / 1024;
  const out = [
    scatterSvg(
      `size vs latency (batch ${b1})`,
      'size KB',
      `p50 ms at batch ${b1}`,
      vs.map((v) => ({ label: v.name, x: kb(v), y: lat(v, b1) })),
    ),
    barSvg(
      'model size',
      'KB',
      vs.map((v) => ({ label: v.name, value: kb(v) })),
    ),
  ];
  if (bN !== undefined && bN !== b1)
    out.push(
      barSvg(
        `p50 latency at batch ${bN}`,
        'ms',
        vs.map((v) => ({ label: v.name, value: lat(v, bN) })),
      ),
    );
  const acc = vs.map((v) => ({ v, a: accuracyOf(v) })).filter((x) => x.a);
  if (acc.length > 0)
    out.push(
      scatterSvg(
        `latency vs accuracy (batch ${bN})`,
        `p50 ms at batch ${bN}`,
        acc[acc.length - 1]!.a!.label,
        acc.map(({ v, a }) => ({ label: v.name, x: lat(v, bN), y: a!.value })),
      ),
    );
  return out.filter(Boolean);
}

function table(r: OptimizeReport): string {
  const batches = r.variants[0]?.latency.map((l) => l.batch) ?? [];
  const head = ['variant', 'size KB', ...batches.flatMap((b) => [`b${b} p50 ms`, `b${b} p99 ms`, `b${b} rows/s`])];
  head.push('top-1', 'agreement', 'max abs err', 'mean abs err', 'fused int8 kernels');
  const pct = (v: number | undefined) => (v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);
  const rows = r.variants.map((v) => {
    const a = v.accuracy;
    const cells = [v.name, (v.sizeBytes / 1024).toFixed(0)];
    for (const l of v.latency) cells.push(fmt(l.p50Ms), fmt(l.p99Ms), l.throughput.toFixed(0));
    cells.push(
      pct(a?.top1),
      pct(a?.agreement),
      a ? a.maxAbsErr.toExponential(2) : '-',
      a ? a.meanAbsErr.toExponential(2) : '-',
    );
    const fused = v.fusion
      ? Object.entries(v.fusion.fusedKernels)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ') || 'none'
      : '-';
    cells.push(fused);
    return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}
table{border-collapse:collapse;margin:16px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}
svg{background:#fafafa;border:1px solid #e4e4e4}.tick{font-size:11px;fill:#555}.lbl{font-size:12px;fill:#222}
.ttl{font-size:13px;font-weight:600}.axl{font-size:12px;fill:#333}.notes li{margin:4px 0}`;

/** The whole report page. */
export function renderHtmlReport(r: OptimizeReport): string {
  const m = r.machine;
  const machine = `${m.model}, ${m.cores} cores, ${m.threads} thread(s), flags ${m.flags.join(' ') || 'unknown'}${m.vnni ? '' : ' (no VNNI)'}, onnxruntime ${m.onnxruntime}`;
  const notes = r.variants.flatMap((v) => [
    ...(v.notes ?? []).map((n) => `${v.name}: ${n}`),
    ...(v.fusion ? [`${v.name}: ${v.fusion.message}`] : []),
  ]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`infergate optimize — ${r.model}`)}</title><style>${CSS}</style></head>
<body><h1>${escapeHtml(r.model)}</h1>
<p>${escapeHtml(machine)}<br>created ${escapeHtml(r.created)}</p>
<div class="charts">${charts(r).join('\n')}</div>
${table(r)}
${notes.length ? `<ul class="notes">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
