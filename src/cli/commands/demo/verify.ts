/**
 * Demo step: the checks. Every volume is where the plan said (or where it was, when the plan left
 * it), in a settled status, its seeded bytes read back identical (sha256); the live volume's
 * consumer saw no error and every last acknowledged write is on the destination.
 *
 * @module
 */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunSummary } from '../../../executor/index.js';
import { verifyImage } from '../../../hypervisor/index.js';
import type { Plan } from '../../../model/index.js';
import { checkFailed, sha256, type DemoContext } from './context.js';
import { LIVE_WRITE_BYTES, type LiveConsumer, type SeededVolume } from './fleet.js';

/** Reads `length` bytes at `offset` of a volume (through a full sparse read-back) and hashes them. */
export async function readBackSha(ctx: DemoContext, volumeId: string, name: string, offset: number, length: number): Promise<string> {
  const out = join(ctx.scratch, `${name}.read`);
  await ctx.service.readVolume(volumeId, out);
  try {
    const fh = await open(out, 'r');
    try {
      const part = Buffer.alloc(length);
      await fh.read(part, 0, length, offset);
      return sha256(part);
    } finally {
      await fh.close();
    }
  } finally {
    await rm(out, { force: true });
  }
}

/** Every move done: none failed, skipped, cancelled or left. */
export function checkRun(summary: RunSummary, plan: Plan): void {
  const c = summary.counts;
  if (summary.state !== 'finished' || c.done !== plan.moves.length) {
    const why = [...summary.failed.map((f) => `${f.moveId} failed [${f.code}] ${f.reason}`), ...summary.skipped.map((s) => `${s.moveId} skipped: ${s.reason}`), ...summary.cancelled.map((s) => `${s.moveId} cancelled: ${s.reason}`)];
    throw checkFailed(`run ${summary.runId} ${summary.state}: ${c.done} of ${plan.moves.length} moves done${why.length ? ` (${why.join('; ')})` : ''}`);
  }
}

const SETTLED_STATUS = new Set(['available', 'in-use']);
const SETTLED_MIGRATION = new Set([null, 'success']);

/** Placement, status and data of every seeded volume; prints one line per volume. */
export async function checkVolumes(ctx: DemoContext, plan: Plan, fleet: readonly SeededVolume[]): Promise<void> {
  const problems: string[] = [];
  for (const v of fleet) {
    const move = plan.moves.filter((m) => m.volumeId === v.id).at(-1);
    const want = move?.to ?? v.spec.pool;
    const now = ctx.service.getVolume(v.id);
    const where = now.host === want ? 'as planned' : `NOT WHERE PLANNED (${want})`;
    if (now.host !== want) problems.push(`${v.spec.name} is on ${now.host}, the plan said ${want}`);
    if (!SETTLED_STATUS.has(now.status) || !SETTLED_MIGRATION.has(now.migrationStatus)) problems.push(`${v.spec.name} is ${now.status}/${now.migrationStatus ?? 'None'}`);
    let data = 'written by its consumer (checked below)';
    if (v.sha256 !== null) {
      const got = await readBackSha(ctx, v.id, v.spec.name, v.spec.offset, v.spec.dataBytes);
      data = `sha256 ${got.slice(0, 12)}… ${got === v.sha256 ? 'identical' : 'MISMATCH'}`;
      if (got !== v.sha256) problems.push(`${v.spec.name}: data read back differs from what was written`);
    }
    ctx.say(`${v.spec.name.padEnd(13)} ${(move ? `${move.id} ${move.kind}` : 'not moved').padEnd(20)} on ${now.host.padEnd(22)} ${where.padEnd(11)} ${`${now.status}/${now.migrationStatus ?? 'None'}`.padEnd(18)} ${data}`);
  }
  const open = ctx.service.migrations(1000).filter((m) => m.finishedAtMs === null);
  if (open.length > 0) problems.push(`${open.length} migration(s) not finished`);
  if (problems.length > 0) throw checkFailed(problems.join('; '));
}

/**
 * Stops the consumer, detaches, reads the volume back and checks that every block's last
 * acknowledged write is there; `ackedBefore` is the count when the run started.
 */
export async function checkLive(ctx: DemoContext, live: LiveConsumer, ackedBefore: number): Promise<void> {
  const w = live.writer;
  await live.stop();
  const during = w.acked - ackedBefore;
  await ctx.service.detachVolume(live.volumeId);
  const out = join(ctx.scratch, 'live.read');
  await ctx.service.readVolume(live.volumeId, out);
  try {
    const check = await verifyImage(out, LIVE_WRITE_BYTES, w.last, { only: new Set(w.last.keys()) });
    ctx.say(`consumer: ${w.acked} writes acknowledged in all, ${during} during the plan's run, ${w.errors.length} errors; detached and read back: ${check.checked} blocks' last acknowledged writes checked, ${check.badCount} missing`);
    if (w.errors.length > 0) throw checkFailed(`the live volume's consumer saw ${w.errors.length} write errors: ${w.errors.slice(0, 3).join('; ')}`);
    if (check.badCount > 0) throw checkFailed(`${check.badCount} acknowledged writes missing from the live volume after its move`);
    if (during === 0) throw checkFailed("the live volume's consumer acknowledged no write during the run");
  } finally {
    await rm(out, { force: true });
  }
}
