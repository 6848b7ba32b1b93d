/**
 * Live-migration bench (issue 3): for a 1 GiB in-use raw volume with a writer running, the live
 * copy throughput as a ratio to the generic copy of the same volume while available (same run),
 * and the longest write latency the writer saw during the pivot (target < 100 ms).
 *
 * Real service in-process, real qemu-storage-daemon and exporters (the built CLI).
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BlockService, type MigrationProgress } from '../src/blockstore/index.js';
import { serviceOptions } from '../src/cli/index.js';
import { loadConfig } from '../src/config/index.js';
import { BLOCK, NbdClient, PatternWriter } from '../src/hypervisor/index.js';
import { GiB, MiB, SeededBytes, median, round } from './lib.js';

const CONFIG = `apiVersion: ballast/v1
dataDir: ./data
host: ballast
copy: { bufferMiB: 1 }
backends:
  - name: fast
    driver: raw
    pools:
      - { name: ssd-a, size: 20GiB, provisioning: thin, capabilities: { tier: gold } }
      - { name: ssd-b, size: 20GiB, provisioning: thin, capabilities: { tier: gold } }
volumeTypes:
  - name: gold
    extraSpecs: { volume_backend_name: fast, "capabilities:tier": gold }
defaultVolumeType: gold
`;

const POOL_A = 'ballast@fast#ssd-a';
const POOL_B = 'ballast@fast#ssd-b';
const epochNow = (): number => performance.timeOrigin + performance.now();

export interface LiveSample {
  readonly rep: number;
  readonly availableFrom: string;
  readonly availableTo: string;
  readonly availableMs: number;
  readonly availableMiBPerSec: number;
  /** Start → 'verifying' of the available copy (the copy without the engine's verify pass). */
  readonly availableCopyOnlyMs: number;
  readonly availableCopyOnlyMiBPerSec: number;
  readonly ratioToCopyOnly: number;
  readonly liveFrom: string;
  readonly liveTo: string;
  readonly liveMs: number;
  readonly liveMiBPerSec: number;
  readonly ratio: number;
  readonly livePath: string | null;
  readonly copyingEvents: number;
  readonly pivotWindowMs: number;
  readonly pivotWindowMaxWriteMs: number;
  readonly pivotWindowWrites: number;
  readonly copyPhaseMaxWriteMs: number;
  readonly moveMaxWriteMs: number;
  readonly writesDuringMove: number;
  readonly writerErrors: readonly string[];
}

export interface LiveBenchResult {
  readonly date: string;
  readonly node: string;
  readonly config: { volumeGiB: number; writerAreaMiB: number; queueDepth: number; reps: number };
  readonly environment: { cpus: number; loadAverageBefore: number[]; loadAverageAfter: number[] };
  readonly samples: LiveSample[];
  readonly median: {
    availableMiBPerSec: number;
    liveMiBPerSec: number;
    ratio: number;
    availableCopyOnlyMiBPerSec: number;
    ratioToCopyOnly: number;
    pivotWindowMaxWriteMs: number;
    copyPhaseMaxWriteMs: number;
    writesDuringMove: number;
  };
  readonly pivotTargetMs: number;
  readonly pivotTargetMet: boolean;
}

function socketOf(address: string): string {
  const s = new URL(address).searchParams.get('socket');
  if (!s) throw new Error(`no socket in ${address}`);
  return s;
}

/** Max latency (ackAt − sentAt) of the writes whose [sentAt, ackAt] overlaps [from, to]. */
function maxLatency(log: readonly { sentAt: number; ackAt: number }[], from: number, to: number): { max: number; n: number } {
  let max = 0;
  let n = 0;
  for (const w of log) {
    if (w.ackAt >= from && w.sentAt <= to) {
      n++;
      max = Math.max(max, w.ackAt - w.sentAt);
    }
  }
  return { max, n };
}

export async function runLiveBench(opts: { repoRoot: string; tmpDir: string; reps: number; log: (line: string) => void }): Promise<LiveBenchResult> {
  const { tmpDir, log } = opts;
  const volumeBytes = 1 * GiB;
  const writerBlocks = (256 * MiB) / BLOCK;
  const queueDepth = 4;
  await mkdir(tmpDir, { recursive: true });
  const configFile = path.join(tmpDir, 'ballast.yaml');
  await writeFile(configFile, CONFIG);
  const config = await loadConfig(configFile);
  const service = await BlockService.open(serviceOptions(config));
  const loadBefore = loadavg().map((x) => round(x));
  const samples: LiveSample[] = [];
  let volumeId: string | null = null;
  let client: NbdClient | null = null;
  let writer: PatternWriter | null = null;
  try {
    const vol = await service.createVolume({ sizeGiB: 1, type: 'gold', host: POOL_A, name: 'bench-live' });
    volumeId = vol.id;
    // 1 GiB of seeded random data, written before the volume is attached.
    const fill = path.join(tmpDir, 'fill.bin');
    const fh = await open(fill, 'w');
    try {
      const rnd = new SeededBytes(`live-${randomBytes(4).toString('hex')}`);
      for (let off = 0; off < volumeBytes; off += 16 * MiB) await fh.write(rnd.next(16 * MiB), 0, 16 * MiB, off);
    } finally {
      await fh.close();
    }
    await service.writeVolume(vol.id, fill, 0);
    await rm(fill);
    log(`live bench: volume ${vol.id} filled with 1 GiB of random data`);

    for (let rep = 1; rep <= opts.reps; rep++) {
      // (a) the available volume, generic host copy
      const aFrom = service.getVolume(vol.id).host;
      const aTo = aFrom === POOL_A ? POOL_B : POOL_A;
      const t0 = performance.now();
      let verifyingAt = 0;
      const ma = await service.migrateVolume(vol.id, aTo, {
        forceHostCopy: true,
        onProgress: (p: MigrationProgress) => {
          if (p.phase === 'verifying' && !verifyingAt) verifyingAt = performance.now();
        },
      });
      const availableMs = performance.now() - t0;
      const availableCopyOnlyMs = verifyingAt ? verifyingAt - t0 : availableMs;
      if (ma.outcome !== 'success') throw new Error(`available copy ended ${ma.outcome}`);
      const availableMiBPerSec = volumeBytes / MiB / (availableMs / 1000);
      log(`  rep ${rep} (a) available ${aFrom} → ${aTo}: ${availableMs.toFixed(0)} ms, ${availableMiBPerSec.toFixed(0)} MiB/s (path ${String(ma.path)})`);

      // (b) in use, a writer running
      const { address } = await service.attachVolume(vol.id, { instanceUuid: 'bench-vm' });
      if (!address) throw new Error('no consumer address (hypervisor not configured?)');
      client = await NbdClient.connect(socketOf(address), vol.id);
      writer = new PatternWriter(client, { blocks: writerBlocks, queueDepth, seed: rep });
      writer.start();
      const w = writer;
      await w.until(() => w.acked >= 200, 30_000, '200 writes before the move');
      const bFrom = aTo;
      const bTo = bFrom === POOL_A ? POOL_B : POOL_A;
      let lastCopyingAt = 0;
      let pivotedAt = 0;
      let copyingEvents = 0;
      const phases: string[] = [];
      const ackedBefore = w.acked;
      const start = epochNow();
      const mb = await service.migrateVolume(vol.id, bTo, {
        onProgress: (p: MigrationProgress) => {
          const now = epochNow();
          if (phases[phases.length - 1] !== p.phase) phases.push(p.phase);
          if (p.phase === 'copying') {
            lastCopyingAt = now;
            copyingEvents++;
          } else if (p.phase === 'pivoted') pivotedAt = now;
        },
      });
      const end = epochNow();
      const writesDuringMove = w.acked - ackedBefore;
      if (mb.outcome !== 'success') throw new Error(`live move ended ${mb.outcome}`);
      if (!pivotedAt || !lastCopyingAt) throw new Error(`missing phases: ${phases.join(',')}`);
      const liveMs = pivotedAt - start;
      const liveMiBPerSec = volumeBytes / MiB / (liveMs / 1000);
      const pivot = maxLatency(w.log, lastCopyingAt, pivotedAt);
      const copy = maxLatency(w.log, start, lastCopyingAt);
      const move = maxLatency(w.log, start, end);
      const afterPivot = w.acked;
      await w.until(() => w.acked >= afterPivot + 100, 30_000, '100 writes after the move');
      await w.stop();
      await client.disconnect();
      client = null;
      writer = null;
      await service.detachVolume(vol.id);
      const s: LiveSample = {
        rep,
        availableFrom: aFrom,
        availableTo: aTo,
        availableMs: round(availableMs, 0),
        availableMiBPerSec: round(availableMiBPerSec, 1),
        availableCopyOnlyMs: round(availableCopyOnlyMs, 0),
        availableCopyOnlyMiBPerSec: round(volumeBytes / MiB / (availableCopyOnlyMs / 1000), 1),
        ratioToCopyOnly: round(liveMiBPerSec / (volumeBytes / MiB / (availableCopyOnlyMs / 1000)), 3),
        liveFrom: bFrom,
        liveTo: bTo,
        liveMs: round(liveMs, 0),
        liveMiBPerSec: round(liveMiBPerSec, 1),
        ratio: round(liveMiBPerSec / availableMiBPerSec, 3),
        livePath: mb.path ?? null,
        copyingEvents,
        pivotWindowMs: round(pivotedAt - lastCopyingAt, 1),
        pivotWindowMaxWriteMs: round(pivot.max, 1),
        pivotWindowWrites: pivot.n,
        copyPhaseMaxWriteMs: round(copy.max, 1),
        moveMaxWriteMs: round(move.max, 1),
        writesDuringMove,
        writerErrors: [...w.errors],
      };
      samples.push(s);
      log(
        `  rep ${rep} (b) live ${bFrom} → ${bTo}: ${s.liveMs} ms to pivot, ${s.liveMiBPerSec} MiB/s, ratio ${s.ratio}; ` +
          `pivot window ${s.pivotWindowMs} ms, max write ${s.pivotWindowMaxWriteMs} ms (${s.pivotWindowWrites} writes); copy-phase max ${s.copyPhaseMaxWriteMs} ms; ` +
          `${writesDuringMove} writes during the move; writer errors ${s.writerErrors.length}; phases ${phases.join('→')}`,
      );
    }
  } finally {
    if (writer) await writer.stop().catch(() => undefined);
    if (client) await client.disconnect().catch(() => undefined);
    if (volumeId && service.getVolume(volumeId).status === 'in-use') await service.detachVolume(volumeId).catch(() => undefined);
    service.close();
  }
  const leftovers = (() => {
    try {
      return execFileSync('pgrep', ['-af', 'qemu-storage-daemon'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  if (leftovers.includes(tmpDir)) log(`WARNING: storage daemons left behind:\n${leftovers}`);
  const med = (k: keyof LiveSample) => median(samples.map((s) => Number(s[k])));
  const m = {
    availableMiBPerSec: round(med('availableMiBPerSec'), 1),
    liveMiBPerSec: round(med('liveMiBPerSec'), 1),
    ratio: round(med('ratio'), 3),
    availableCopyOnlyMiBPerSec: round(med('availableCopyOnlyMiBPerSec'), 1),
    ratioToCopyOnly: round(med('ratioToCopyOnly'), 3),
    pivotWindowMaxWriteMs: round(med('pivotWindowMaxWriteMs'), 1),
    copyPhaseMaxWriteMs: round(med('copyPhaseMaxWriteMs'), 1),
    writesDuringMove: med('writesDuringMove'),
  };
  return {
    date: new Date().toISOString(),
    node: process.version,
    config: { volumeGiB: 1, writerAreaMiB: 256, queueDepth, reps: opts.reps },
    environment: { cpus: (await import('node:os')).cpus().length, loadAverageBefore: loadBefore, loadAverageAfter: loadavg().map((x) => round(x)) },
    samples,
    median: m,
    pivotTargetMs: 100,
    pivotTargetMet: samples.every((s) => s.pivotWindowMaxWriteMs < 100),
  };
}

/** The Markdown table of bench/results/live.md. */
export function liveMarkdown(r: LiveBenchResult): string {
  const row = (
    label: string,
    s: Pick<LiveSample, 'availableMiBPerSec' | 'availableCopyOnlyMiBPerSec' | 'ratioToCopyOnly' | 'liveMiBPerSec' | 'ratio' | 'pivotWindowMaxWriteMs' | 'copyPhaseMaxWriteMs' | 'writesDuringMove'>,
  ) =>
    `| ${label} | ${s.availableMiBPerSec} | ${s.availableCopyOnlyMiBPerSec} | ${s.liveMiBPerSec} | ${s.ratio.toFixed(2)} | ${s.ratioToCopyOnly.toFixed(2)} | ${s.pivotWindowMaxWriteMs} | ${s.copyPhaseMaxWriteMs} | ${s.writesDuringMove} |`;
  return [
    `### Live migration of an in-use volume (${r.date.slice(0, 10)}, Node ${r.node}, ${r.environment.cpus} CPUs, load ${r.environment.loadAverageBefore.join(' ')})`,
    '',
    `1 GiB raw volume of random data, pool → pool of one raw back-end, no rate limit. (a) the available volume, generic host copy (forceHostCopy; time to done incl. the engine's verify pass, and start → verifying); ` +
      `(b) attached, a consumer writing 4 KiB blocks over NBD (queue depth ${r.config.queueDepth}, first ${r.config.writerAreaMiB} MiB) throughout; live copy time = start → pivoted. ` +
      `Pivot window = last copy progress → pivoted; a write counts if [sent, acked] overlaps it. ${r.config.reps} alternating runs, median.`,
    '',
    '| run | available copy MiB/s (incl. verify) | available copy MiB/s (copy phase only) | live copy MiB/s | live/available | live/available copy phase | pivot-window max write latency ms (target < 100) | copy-phase max write latency ms | writes acked during the move |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.samples.map((s) => row(`${s.rep}`, s)),
    row('**median**', r.median),
    '',
    `Pivot target < ${r.pivotTargetMs} ms: ${r.pivotTargetMet ? 'met in every run' : 'NOT met in every run'}; writer errors: ${r.samples.reduce((n, s) => n + s.writerErrors.length, 0)}.`,
    '',
  ].join('\n');
}
