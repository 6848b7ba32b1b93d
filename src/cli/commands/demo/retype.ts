/**
 * Demo step kept from the hand-run demo: a retype with `--migration-policy on-demand`, which the
 * plan does not show (the solver changes pools, not types): standard → gold moves the volume from
 * the chunked back-end to a raw one (generic copy across drivers); its data is checked after.
 *
 * @module
 */
import { AppError, formatBytes } from '../../../shared/index.js';
import { ProgressReporter } from '../../progress.js';
import { checkFailed, type DemoContext } from './context.js';
import type { SeededVolume } from './fleet.js';
import { readBackSha } from './verify.js';

/** Retypes `v` to `gold` (on-demand), prints the result, checks type, pool, status and data. */
export async function retypeOnDemand(ctx: DemoContext, v: SeededVolume): Promise<void> {
  const r = await ctx.service.retype(v.id, 'gold', 'on-demand');
  if (r.kind !== 'migration') throw new AppError('INTERNAL', `expected retype of ${v.spec.name} to need a migration, got ${r.kind}`);
  const bar = new ProgressReporter(ctx.io, 2000);
  const m = await ctx.service.runMigration(r.migration.id, { onProgress: (p) => (p.phase === 'copying' ? bar.update('   copying', p.bytesCopied, p.bytesTotal) : undefined) });
  bar.done();
  const now = ctx.service.getVolume(v.id);
  const type = ctx.service.typeById(now.volumeTypeId)?.name;
  ctx.say(`retype ${v.spec.name} standard → gold: ${m.kind} ${m.outcome} (${m.path === 'driver' ? 'driver-assisted' : `generic copy of ${formatBytes(m.bytesCopied)}`}); now on ${now.host}, type ${type}, ${now.status}/${now.migrationStatus ?? 'None'}`);
  if (m.outcome !== 'success' || type !== 'gold' || !now.host.startsWith('ballast@fast#') || now.status !== 'available') throw checkFailed(`retype of ${v.spec.name} did not end as gold on a fast pool`);
  if (v.sha256 !== null) {
    const got = await readBackSha(ctx, v.id, v.spec.name, v.spec.offset, v.spec.dataBytes);
    ctx.say(`${v.spec.name} read back: sha256 ${got.slice(0, 12)}… ${got === v.sha256 ? 'identical' : 'MISMATCH'}`);
    if (got !== v.sha256) throw checkFailed(`${v.spec.name}: data read back after the retype differs from what was written`);
  }
}
