/**
 * The shadow diff report as one self-contained HTML page: inline CSS, no script, nothing fetched
 * (a Content-Security-Policy of `default-src 'none'` says so to the browser too), so it can be
 * mailed or attached to a ticket. Every string that comes from data (model name, request ids,
 * output names, times) is escaped: a model may be called `<script>`.
 */
import type { ArmReport, LatencySummary, PairReport, ShadowReport, WorstCall } from './report.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1d1f23}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}h3{font-size:1rem;margin:1.25rem 0 .4rem}
.meta{color:#5b616b;margin:0 0 1rem}.summary{font-size:1.05rem;padding:.75rem 1rem;border-radius:6px;background:#f3f5f8}
.good{border-left:6px solid #2e8b57}.warn{border-left:6px solid #d18b00}.bad{border-left:6px solid #c0392b}
table{border-collapse:collapse;margin:.25rem 0 1rem;min-width:30rem}th,td{padding:.3rem .7rem;border-bottom:1px solid #e1e4e8;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f6f8fa;font-weight:600}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}.none{color:#5b616b;font-style:italic}ul.notes{color:#5b616b;font-size:.9rem}
`;

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pct = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(2)} %`);
const num = (v: number) =>
  v === 0 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toPrecision(4);
const ms = (v: number | null, censored: boolean) => (v === null ? '–' : `${censored ? '≥ ' : ''}${v.toFixed(2)} ms`);

function table(head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function latencyCells(l: LatencySummary): string[] {
  return [String(l.count), ms(l.p50Ms, l.censored), ms(l.p99Ms, l.censored)];
}

function summaryLine(r: ShadowReport): { text: string; tone: string } {
  const s = r.summary;
  if (s.compared === 0)
    return { text: `No shadow comparisons yet (${s.dropped} dropped, ${s.failed} failed).`, tone: 'warn' };
  const tone = s.disagreed === 0 && s.failed === 0 ? 'good' : (s.agreement ?? 0) >= 0.99 ? 'warn' : 'bad';
  return {
    text:
      `Agreement ${pct(s.agreement)}: ${s.disagreed} of ${s.compared} compared calls disagree` +
      ` over ${s.pairs} version pair${s.pairs === 1 ? '' : 's'}; ${s.failed} shadow calls failed, ${s.dropped} dropped.`,
    tone,
  };
}

function armsSection(arms: ArmReport[], pairs: PairReport[]): string {
  const rows = arms.map((a) => [
    `version ${escapeHtml(a.version)}`,
    String(a.requests),
    `${a.errors} (${pct(a.errorRate)})`,
    ...latencyCells(a.latency).slice(1),
  ]);
  for (const p of pairs)
    rows.push([
      `shadow ${p.shadow} (of ${p.primary})`,
      String(p.shadowLatency.count),
      '–',
      ...latencyCells(p.shadowLatency).slice(1),
    ]);
  if (rows.length === 0) return '<p class="none">No latency recorded.</p>';
  return table(['arm', 'requests', 'errors', 'p50', 'p99'], rows);
}

function pairSection(p: PairReport): string {
  const head = `<h3>Version ${p.primary} (primary) vs ${p.shadow} (shadow)</h3>`;
  const counts = table(
    ['compared', 'disagreed', 'agreement', 'failed', 'dropped'],
    [[String(p.compared), String(p.disagreed), pct(p.agreement), String(p.failed), String(p.dropped)]],
  );
  const outputs = p.outputs.length
    ? table(
        ['output', 'max abs diff', 'mean abs diff', 'calls'],
        p.outputs.map((o) => [`<code>${escapeHtml(o.name)}</code>`, num(o.maxAbs), num(o.meanAbs), String(o.calls)]),
      )
    : '<p class="none">No output measured.</p>';
  return `${head}\n${counts}\n${outputs}`;
}

function worstSection(worst: WorstCall[]): string {
  if (worst.length === 0) return '<p class="none">No disagreeing call.</p>';
  return table(
    ['request id', 'versions', 'largest abs diff', 'at'],
    worst.map((w) => [
      `<code>${escapeHtml(w.requestId)}</code>`,
      `${w.primary} → ${w.shadow}`,
      w.diff === null ? 'not comparable (shape or type)' : num(w.diff),
      escapeHtml(w.at),
    ]),
  );
}

/** One page: a summary line, the arms' latency, a table per version pair, the worst calls. */
export function renderReportHtml(r: ShadowReport): string {
  const model = escapeHtml(r.model);
  const s = summaryLine(r);
  const pairs = r.pairs.length ? r.pairs.map(pairSection).join('\n') : '<p class="none">No shadow pair.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shadow report: ${model}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Shadow report: <code>${model}</code></h1>
<p class="meta">Generated ${escapeHtml(r.generatedAt)}</p>
<p class="summary ${s.tone}">${escapeHtml(s.text)}</p>
<h2>Latency by arm</h2>
${armsSection(r.arms, r.pairs)}
<h2>Version pairs</h2>
${pairs}
<h2>Worst-disagreeing requests</h2>
${worstSection(r.worst)}
<h2>How to read this</h2>
<ul class="notes">${r.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
</body>
</html>
`;
}
