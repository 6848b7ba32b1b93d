/**
 * `explainPolicy`: a plain-language Markdown summary of what a compiled policy enforces and
 * optimizes, for pull-request descriptions. Deterministic: the same policy gives the same text.
 *
 * @module
 */
import { formatClock, formatDurationMs, formatSize } from './quantities.js';
import { WEEKDAYS, type Weekday } from './schema.js';
import type { CompiledPolicy, CompiledRule, CompiledWindow } from './types.js';

const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const list = (xs: readonly string[]) => {
  const quoted = xs.map(code);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
};
const num = (n: number) => String(Number(n.toFixed(6)));
const rate = (bps: number) => `${formatSize(bps)}/s`;

function days(ds: readonly Weekday[]): string {
  if (ds.length === 7) return 'every day';
  const idx = ds.map((d) => WEEKDAYS.indexOf(d)).sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1] === idx[j]! + 1) j++;
    const a = WEEKDAYS[idx[i]!]!;
    const b = WEEKDAYS[idx[j]!]!;
    runs.push(j - i >= 2 ? `${a}–${b}` : j > i ? `${a}, ${b}` : a);
    i = j + 1;
  }
  return runs.join(', ');
}

function window(w: CompiledWindow): string {
  const overnight = w.endMinute <= w.startMinute ? ' (closing the next day)' : '';
  const allDay = w.startMinute === 0 && w.endMinute === 1440;
  return allDay ? `${days(w.days)}, all day (${w.timeZone})` : `${days(w.days)} ${formatClock(w.startMinute)}–${formatClock(w.endMinute)}${overnight} (${w.timeZone})`;
}

function scopeLines(r: CompiledRule): string[] {
  const s = r.scope;
  const vol: string[] = [];
  if (s.volumeTypes.length) vol.push(`of type ${list(s.volumeTypes)}`);
  if (s.projects.length) vol.push(`in project ${list(s.projects)}`);
  if (s.volumeNamePatterns.length) vol.push(`named ${list(s.volumeNamePatterns)}`);
  const labels = Object.entries(s.volumeMetadata).sort(([a], [b]) => (a < b ? -1 : 1));
  if (labels.length) vol.push(`labelled ${labels.map(([k, v]) => code(`${k}=${v}`)).join(' and ')}`);
  const pool: string[] = [];
  if (s.poolPatterns.length) pool.push(`matching ${list(s.poolPatterns)}`);
  if (s.backends.length) pool.push(`of back-end ${list(s.backends)}`);
  if (s.availabilityZones.length) pool.push(`in availability zone ${list(s.availabilityZones)}`);
  const volumes = vol.length ? `Volumes ${vol.join(', ')}` : 'Every volume';
  const pools = pool.length ? `${vol.length ? ', ' : ' '}living on pools ${pool.join(' and ')}` : ', on any pool';
  return [`- ${volumes}${pools}.`, pool.length ? `- Pool limits apply to the pools ${pool.join(' and ')}.` : '- Pool limits apply to every pool.'];
}

function constraintLines(r: CompiledRule): string[] {
  const c = r.constraints;
  const out: string[] = [];
  if (c.maxUtilizationPct !== null) {
    out.push(`- **Capacity**: each pool in scope stays at or below **${num(c.maxUtilizationPct)}%** used after a plan (Cinder's capacity math).`);
  }
  const perf: string[] = [];
  if (c.maxIopsUtilizationPct !== null) perf.push(`uses at most **${num(c.maxIopsUtilizationPct)}%** of its rated IOPS at p95`);
  if (c.maxThroughputUtilizationPct !== null) perf.push(`uses at most **${num(c.maxThroughputUtilizationPct)}%** of its rated throughput at p95`);
  if (c.minFreeIops !== null) perf.push(`keeps at least **${c.minFreeIops} IOPS** free`);
  if (c.minFreeThroughputBytesPerSec !== null) perf.push(`keeps at least **${rate(c.minFreeThroughputBytesPerSec)}** of throughput free`);
  if (perf.length) out.push(`- **Performance headroom**: each pool in scope ${perf.join(', and ')}.`);
  if (c.drainPoolPatterns.length) {
    out.push(`- **Drain**: pools matching ${list(c.drainPoolPatterns)} are closed as destinations for every volume; volumes in scope living there must leave.`);
  }
  if (c.excludedDestinationPatterns.length) out.push(`- **Excluded destinations**: volumes in scope never move onto ${list(c.excludedDestinationPatterns)}.`);
  if (c.pinnedVolumeRefs.length) out.push(`- **Pinned**: volumes ${list(c.pinnedVolumeRefs)} stay where they are (they still count for capacity and affinity).`);
  if (c.excludedVolumeRefs.length) out.push(`- **Excluded**: volumes ${list(c.excludedVolumeRefs)} are left out of planning (only their used capacity counts).`);
  if (c.keepWithinAvailabilityZone !== null) {
    out.push(
      c.keepWithinAvailabilityZone
        ? '- **Availability zone**: volumes in scope only move within their availability zone.'
        : '- **Availability zone**: volumes in scope may move to another availability zone.',
    );
  }
  if (c.allowInUse !== null) {
    out.push(
      c.allowInUse
        ? '- **Attached volumes**: volumes in scope may be moved while attached (live copy).'
        : '- **Attached volumes**: volumes in scope are not moved while attached.',
    );
  }
  const domain = { pool: 'pool', backend: 'back-end', availabilityZone: 'availability zone' } as const;
  for (const g of c.antiAffinity) out.push(`- **Anti-affinity**: volumes with the same ${code(g.labelKey)} label value never share a ${domain[g.across]}.`);
  for (const g of c.affinity) out.push(`- **Affinity**: volumes with the same ${code(g.labelKey)} label value are kept on one ${domain[g.within]}.`);
  if (out.length === 0) out.push('- None of its own.');
  return out;
}

/** Options of {@link explainPolicy}. */
export interface ExplainOptions {
  /** Title of the document; defaults to the policy names. */
  readonly title?: string;
}

/**
 * A Markdown summary of a compiled policy: per policy file, what it governs and enforces; then
 * the run-wide objectives, budgets, execution limits and timing, with defaults marked.
 */
export function explainPolicy(policy: CompiledPolicy, opts: ExplainOptions = {}): string {
  const origins = policy.origins;
  const many = policy.rules.length > 1;
  /** Marks a run-wide value as a default or (with several files) says which file set it. */
  const src = (...paths: string[]): string => {
    const set = Object.keys(origins).filter((k) => paths.some((p) => k === p || k.startsWith(`${p}.`) || k.startsWith(`${p}[`)));
    if (set.length === 0) return ' _(default)_';
    if (!many) return '';
    const files = [...new Set(set.map((k) => origins[k]!.replace(/:\d+:\d+$/, '')))].sort();
    return ` _(${files.map(code).join(', ')})_`;
  };
  const o = policy.objectives;
  const e = policy.execution;
  const w = policy.when;
  const b = policy.budgets;
  const lines: string[] = [];
  const title = opts.title ?? (policy.rules.length ? policy.rules.map((r) => code(r.name)).join(', ') : 'defaults only');
  lines.push(`# Placement policy: ${title}`, '');

  for (const r of policy.rules) {
    if (many) lines.push(`## Policy ${code(r.name)}`, '');
    if (r.description) lines.push(`> ${r.description.replace(/\s*\n\s*/g, ' ')}`, '');
    lines.push(`Source: ${code(r.file)}, priority ${r.priority}.`, '');
    const h = many ? '###' : '##';
    lines.push(`${h} What it governs`, '', ...scopeLines(r), '');
    lines.push(`${h} Hard constraints`, '', 'A plan that breaks one of these is never proposed.', '', ...constraintLines(r), '');
  }

  lines.push('## Run-wide settings', '', 'These apply to the whole run, whatever the scope of the file that sets them.', '');

  lines.push('### Objectives', '');
  const terms: string[] = [];
  const off: string[] = [];
  if (o.balance.weight > 0) {
    const by = { capacity: 'used capacity', load: 'load (IOPS and throughput)', both: 'used capacity and load' }[o.balance.by];
    const how = o.balance.metric === 'max' ? 'lowering the fullest pool first' : 'narrowing the gap between the fullest and the emptiest pool';
    terms.push(`- **Balance** (weight ${num(o.balance.weight)}): even out ${by} across pools, ${how}.${src('objectives.balance')}`);
  } else off.push('balance');
  if (o.cost.weight > 0) {
    const prices = o.cost.pricing.map((p) => `${code(p.poolPattern)} ${num(p.costPerGiBMonth)}`);
    prices.push(`other pools ${num(o.cost.defaultCostPerGiBMonth)}`);
    terms.push(`- **Cost** (weight ${num(o.cost.weight)}): lower the monthly storage cost; price per GiB-month: ${prices.join('; ')}.${src('objectives.cost')}`);
  } else off.push('cost');
  if (o.performance.weight > 0) {
    const what: string[] = [];
    if (o.performance.metrics.includes('latencyP95')) {
      what.push(o.performance.targetLatencyP95Ms !== null ? `p95 latency under ${formatDurationMs(o.performance.targetLatencyP95Ms)}` : 'low p95 latency');
    }
    if (o.performance.metrics.includes('iops')) what.push('unused IOPS');
    terms.push(`- **Performance headroom** (weight ${num(o.performance.weight)}): keep ${what.join(' and ')} on every pool.${src('objectives.performance')}`);
  } else off.push('performance headroom');
  lines.push(...terms);
  if (off.length) lines.push(`- Not optimized (weight 0): ${off.join(', ')}.`);
  lines.push(
    `- **Cost of moving**: each GiB moved costs ${num(o.moveCostPerGiB)}${src('objectives.moveCost')}; no plan is proposed unless it improves the objective by at least **${num(o.minGainPct)}%**${src('objectives.minGain')}.`,
    '',
  );

  lines.push('### Budgets per run', '');
  const caps: string[] = [];
  if (b.maxMoves !== null) caps.push(`At most **${b.maxMoves}** moves`);
  if (b.maxBytesMoved !== null) caps.push(`${caps.length ? 'at most' : 'At most'} **${formatSize(b.maxBytesMoved)}** moved`);
  lines.push(caps.length ? `- ${caps.join(' and ')} per run.${src('constraints.budgets')}` : '- No cap on moves or bytes per run.', '');

  lines.push('### Execution', '');
  lines.push(
    `- At most **${e.maxConcurrentTotal}** moves at once: ${e.maxConcurrentPerPool} per pool, ${e.maxConcurrentPerBackend} per back-end, ${e.maxConcurrentInUse} of attached volumes.${src('execution.maxConcurrent')}`,
    e.maxBandwidthBytesPerSec !== null
      ? `- Copy bandwidth capped at **${rate(e.maxBandwidthBytesPerSec)}** in total.${src('execution.maxBandwidth')}`
      : `- Copy bandwidth is not capped.${src('execution.maxBandwidth')}`,
    e.lockVolume
      ? `- Available volumes are locked (status \`maintenance\`) while they move.${src('execution.lockVolume')}`
      : `- Available volumes are not locked while they move.${src('execution.lockVolume')}`,
    e.forceHostCopy
      ? `- Data is always copied through the host (\`force_host_copy\`).${src('execution.forceHostCopy')}`
      : `- Drivers may move data themselves when they can; otherwise it is copied through the host.${src('execution.forceHostCopy')}`,
    e.retypeMigrationPolicy === 'on-demand'
      ? `- A retype may migrate the volume when its pool cannot host the new type (\`on-demand\`).${src('execution.retype')}`
      : `- A retype never migrates: it is refused when the pool cannot host the new type (\`never\`).${src('execution.retype')}`,
    `- A move running longer than ${formatDurationMs(e.moveTimeoutMs)} is cancelled; a plan expires ${formatDurationMs(e.planValidForMs)} after its inventory was taken.${src('execution.moveTimeout', 'execution.planValidFor')}`,
    '',
  );

  lines.push('### When', '');
  if (w.paused) lines.push(`- **Paused**: no scheduled run happens and no new move starts.${src('when.paused')}`);
  lines.push(
    w.schedule !== null ? `- Plans on the cron schedule ${code(w.schedule)} (${w.timeZone}).${src('when.schedule')}` : `- No schedule: runs happen on demand only.${src('when.schedule')}`,
  );
  if (w.maintenanceWindows.length === 0) lines.push(`- Moves may start at any time.${src('when.maintenanceWindows')}`);
  else {
    lines.push(`- Moves start only inside these windows (a running move may finish):${src('when.maintenanceWindows')}`);
    for (const mw of w.maintenanceWindows) lines.push(`  - ${window(mw)}`);
  }
  lines.push('');
  return lines.join('\n');
}
