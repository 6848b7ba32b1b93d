/**
 * Plan renderings: `table` for a terminal, `json` for files and tools (the schema's key order,
 * 2-space indent, final newline), `markdown` for a pull-request comment. Deterministic: the same
 * plan gives the same bytes; rows are sorted (moves by id, pools by name) so diffs stay small.
 * The Markdown leaves out the solve time, so re-planning the same inputs changes only the plan
 * id and the times of the plan.
 *
 * @module
 */
import type { Plan } from '../model/index.js';
import { bar, fixed, gapText, iso, movesInOrder, objectiveChangePct, percent, poolsInOrder, signed, summaryParts } from './render-common.js';
import { PlanSchema } from './schema.js';

/** The renderings of a plan. */
export type PlanFormat = 'table' | 'json' | 'markdown';
/** Every {@link PlanFormat}, for CLI choices. */
export const PLAN_FORMATS: readonly PlanFormat[] = ['table', 'json', 'markdown'];

/** The plan in one of the formats. */
export function renderPlan(plan: Plan, format: PlanFormat): string {
  switch (format) {
    case 'json':
      return renderPlanJson(plan);
    case 'markdown':
      return renderPlanMarkdown(plan);
    case 'table':
      return renderPlanTable(plan);
  }
}

/** The plan file text: keys in the schema's order, 2-space indent, final newline. */
export function renderPlanJson(plan: Plan): string {
  return `${JSON.stringify(PlanSchema.parse(plan), null, 2)}\n`;
}

function textTable(columns: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [sep, line(columns), sep, ...rows.map(line), sep].join('\n');
}

const objectiveLine = (plan: Plan): string => {
  const q = plan.quality;
  const change = objectiveChangePct(plan);
  return `objective ${fixed(q.objectiveBefore, 4)} -> ${fixed(q.objectiveAfter, 4)}${change === null ? '' : ` (${signed(change, 1)}%)`}; ${gapText(plan)}; ${q.method} (${q.engine}), ${Math.round(q.solveMs)} ms${q.timeLimited ? ', time limit hit' : ''}`;
};

/** For a terminal: a summary, the moves, the pools and the notes. */
export function renderPlanTable(plan: Plan): string {
  const s = summaryParts(plan);
  const out = [
    `plan ${plan.id} from inventory ${plan.inventoryId}, made ${iso(plan.createdAtMs)}, expires ${iso(plan.expiresAtMs)}`,
    `${s.moves}, ${s.data} to move, cost ${s.cost}`,
    objectiveLine(plan),
    '',
  ];
  if (plan.moves.length > 0) {
    const rows = movesInOrder(plan).map((m) => [
      m.id,
      m.volumeName || m.volumeId,
      fixed(m.sizeGiB),
      m.from,
      m.to,
      m.kind + (m.newVolumeType ? ` (to ${m.newVolumeType})` : ''),
      m.dependsOn.join(',') || '-',
      m.reason,
    ]);
    out.push(textTable(['id', 'volume', 'GiB', 'from', 'to', 'kind', 'waits for', 'reason'], rows, new Set([2])), '');
  } else {
    out.push('no moves', '');
  }
  const pools = poolsInOrder(plan).map((p) => [
    p.pool,
    fixed(p.capacityGiB),
    percent(share(p.usedBeforeGiB, p.capacityGiB)),
    percent(share(p.usedAfterGiB, p.capacityGiB)),
    percent(p.peakShare),
    p.limitShare === null ? '-' : percent(p.limitShare),
  ]);
  out.push(textTable(['pool', 'capacity GiB', 'before', 'after', 'peak', 'limit'], pools, new Set([1, 2, 3, 4, 5])));
  if (plan.notes.length > 0) out.push('', 'notes:', ...plan.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

const share = (used: number, capacity: number) => (capacity > 0 ? used / capacity : 0);

/** Escapes a table cell for GitHub-flavoured Markdown. */
const md = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/([*_`<>[\]])/g, '\\$1');
const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;

/** For a pull-request comment: summary, pools with bars, moves with reasons, the gap, notes. */
export function renderPlanMarkdown(plan: Plan): string {
  const s = summaryParts(plan);
  const q = plan.quality;
  const change = objectiveChangePct(plan);
  const out = [
    `### Ballast plan ${code(plan.id)}`,
    '',
    `**${s.moves}**, **${s.data}** to move, cost ${s.cost}.`,
    '',
    `Inventory ${code(plan.inventoryId)}; made ${iso(plan.createdAtMs)}, expires ${iso(plan.expiresAtMs)}. Policies: ${plan.policies.map(code).join(', ') || 'none'}.`,
    '',
    `Objective ${fixed(q.objectiveBefore, 4)} → ${fixed(q.objectiveAfter, 4)}${change === null ? '' : ` (${signed(change, 1)}%)`}; ${gapText(plan)}. Method ${q.method} (${q.engine})${q.timeLimited ? ', time limit hit (the plan is still valid)' : ''}.`,
    '',
    '#### Pools',
    '',
    '| pool | before | after | peak during the plan | limit |',
    '|---|---|---|---:|---:|',
    ...poolsInOrder(plan).map((p) => {
      const before = share(p.usedBeforeGiB, p.capacityGiB);
      const after = share(p.usedAfterGiB, p.capacityGiB);
      return `| ${code(p.pool)} | ${code(bar(before))} ${percent(before)} | ${code(bar(after))} ${percent(after)} | ${percent(p.peakShare)} | ${p.limitShare === null ? '-' : percent(p.limitShare)} |`;
    }),
    '',
    '#### Moves',
    '',
  ];
  if (plan.moves.length === 0) out.push('No moves.');
  else {
    out.push('| # | volume | GiB | from → to | kind | waits for | reason |', '|---|---|---:|---|---|---|---|');
    for (const m of movesInOrder(plan)) {
      const kind = m.kind + (m.newVolumeType ? ` → ${m.newVolumeType}` : '') + (m.attached ? ' (attached)' : '');
      out.push(`| ${m.id} | ${md(m.volumeName || m.volumeId)} | ${fixed(m.sizeGiB)} | ${code(m.from)} → ${code(m.to)} | ${kind} | ${m.dependsOn.join(', ') || '-'} | ${md(m.reason)} |`);
    }
  }
  if (q.terms.length > 0) {
    out.push('', '#### Objective by term', '', '| term | weight | before | after |', '|---|---:|---:|---:|');
    for (const t of [...q.terms].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) out.push(`| ${md(t.name)} | ${fixed(t.weight, 3)} | ${fixed(t.before, 4)} | ${fixed(t.after, 4)} |`);
  }
  if (plan.notes.length > 0) out.push('', '#### Notes', '', ...plan.notes.map((n) => `- ${md(n)}`));
  return `${out.join('\n')}\n`;
}
