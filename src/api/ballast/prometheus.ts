/**
 * Prometheus' text exposition format (version 0.0.4): metric families with HELP and TYPE lines,
 * label values escaped, samples in the order given (callers sort them for stable output).
 *
 * @module
 */

/** One sample of a family: labels, value, and an optional name suffix (`_bucket`, `_sum`, `_count`). */
export interface MetricSample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
  readonly suffix?: '_bucket' | '_sum' | '_count' | '_total';
}

/** A metric family. */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly samples: readonly MetricSample[];
}

/** The content type of the exposition. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Renders families as the exposition text (ends with a newline). Throws on an invalid name. */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (!NAME_RE.test(f.name)) throw new Error(`invalid metric name '${f.name}'`);
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const entries = Object.entries(s.labels ?? {});
      for (const [k] of entries) if (!LABEL_RE.test(k)) throw new Error(`invalid label name '${k}' on ${f.name}`);
      const labels = entries.length > 0 ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      lines.push(`${f.name}${s.suffix ?? ''}${labels} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Cumulative histogram samples (`le` buckets, `+Inf`, sum, count) of `values`. */
export function histogramSamples(values: readonly number[], buckets: readonly number[], labels: Readonly<Record<string, string>> = {}): MetricSample[] {
  const out: MetricSample[] = buckets.map((le) => ({ suffix: '_bucket' as const, labels: { ...labels, le: String(le) }, value: values.filter((v) => v <= le).length }));
  out.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: values.length });
  out.push({ suffix: '_sum', labels, value: values.reduce((a, b) => a + b, 0) });
  out.push({ suffix: '_count', labels, value: values.length });
  return out;
}
