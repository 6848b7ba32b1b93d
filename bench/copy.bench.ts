/**
 * Copy benchmark: the generic copy engine against `cp` on the same disk, and sparse copies whose
 * cost follows the data, not the volume size. See `run.ts` for the entry point and output files.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { copyVolumeData, type CopyOptions, type CopyResult } from '../src/blockstore/index.js';
import type { BackendSpec, VolumeDriver, VolumeHandle, VolumeLocator } from '../src/blockstore/index.js';
import { verifyVolumeData } from '../src/blockstore/index.js';
import { createChunkedDriver } from '../drivers/chunked/index.js';
import { createRawDriver } from '../drivers/raw/index.js';
import { GiB, MiB, SeededBytes, dropCaches, execFileP, freeBytes, median, mibps, round, timed, withRssSampling } from './lib.js';

export interface CopyBenchConfig {
  /** Scratch directory (removed afterwards). */
  readonly tmpDir: string;
  readonly denseGiB: number;
  readonly sparseGiB: number;
  readonly sparseDataMiB: number;
  readonly reps: number;
  /** Also time engine variants (buffer sizes, block path or handles) on the dense volume. */
  readonly explore: boolean;
  /** Try to drop the page cache before every timed run (default true). */
  readonly dropCaches: boolean;
  /** Pause before every timed run, ms. */
  readonly settleMs: number;
  readonly log: (line: string) => void;
}

/** One timed run. */
interface Sample {
  readonly ms: number;
  readonly peakRssBytes?: number;
  readonly baseRssBytes?: number;
  readonly flushMs?: number;
}

const SEED = 'copy-bench-v1';
const CP_ARGS = ['--sparse=never'];

function backend(name: string, driver: string, dataPath: string): BackendSpec {
  return {
    name,
    host: 'bench',
    driver,
    volumeBackendName: name,
    options: {},
    pools: [
      {
        name: 'p1',
        sizeGiB: 1024,
        provisioning: 'thin',
        maxOverSubscriptionRatio: 20,
        reservedPercentage: 0,
        availabilityZone: 'nova',
        capabilities: {},
        dataPath,
      },
    ],
  };
}

function loc(nameId: string, sizeGiB: number): VolumeLocator {
  return { nameId, pool: 'p1', sizeGiB };
}

/** A handle whose flush is timed (to split a copy into data movement and durability). */
function timeFlush(h: VolumeHandle, onFlush: (ms: number) => void): VolumeHandle {
  return {
    sizeBytes: h.sizeBytes,
    blockPath: h.blockPath,
    read: (b, o, l) => h.read(b, o, l),
    write: (b, o, l) => h.write(b, o, l),
    allocatedRanges: () => h.allocatedRanges(),
    close: () => h.close(),
    flush: async () => {
      const t = await timed(() => h.flush());
      onFlush(t.ms);
    },
  };
}

async function fillDense(driver: VolumeDriver, vol: VolumeLocator, log: (s: string) => void): Promise<void> {
  await driver.createVolume(vol);
  const h = await driver.openVolume(vol);
  try {
    const data = new SeededBytes(`${SEED}:dense`);
    const chunk = 4 * MiB;
    for (let off = 0; off < h.sizeBytes; off += chunk) {
      const n = Math.min(chunk, h.sizeBytes - off);
      await h.write(data.next(n), off, n);
    }
    await h.flush();
  } finally {
    await h.close();
  }
  log(`  wrote ${vol.sizeGiB} GiB of seeded data`);
}

/** Extents of the sparse volume: `count` scattered, unaligned, non-overlapping pieces. */
function sparseLayout(sizeBytes: number, dataBytes: number, count: number): { offset: number; length: number }[] {
  const rnd = new SeededBytes(`${SEED}:layout`);
  const slot = Math.floor(sizeBytes / count);
  const per = Math.floor(dataBytes / count);
  const out: { offset: number; length: number }[] = [];
  for (let i = 0; i < count; i++) {
    const length = i === count - 1 ? dataBytes - per * (count - 1) : per;
    out.push({ offset: i * slot + rnd.int(slot - length), length });
  }
  return out;
}

async function fillSparse(driver: VolumeDriver, vol: VolumeLocator, dataBytes: number): Promise<void> {
  await driver.createVolume(vol);
  const h = await driver.openVolume(vol);
  try {
    const data = new SeededBytes(`${SEED}:sparse`);
    for (const e of sparseLayout(h.sizeBytes, dataBytes, 100)) {
      for (let off = 0; off < e.length; off += 4 * MiB) {
        const n = Math.min(4 * MiB, e.length - off);
        await h.write(data.next(n), e.offset + off, n);
      }
    }
    await h.flush();
  } finally {
    await h.close();
  }
}

async function runCp(src: string, dst: string): Promise<{ copyMs: number; fsyncMs: number }> {
  const copy = await timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('cp', [...CP_ARGS, src, dst], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cp exited ${code}: ${err}`))));
      }),
  );
  const sync = await timed(async () => {
    const fh = await open(dst, 'r+');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  });
  return { copyMs: copy.ms, fsyncMs: sync.ms };
}

/** Engine copy of `src` into a fresh volume `dstVol` of `dstDriver`; the destination is deleted afterwards unless `keep`. */
async function engineCopy(
  srcDriver: VolumeDriver,
  srcVol: VolumeLocator,
  dstDriver: VolumeDriver,
  dstVol: VolumeLocator,
  opts: CopyOptions,
  withVerify: boolean,
): Promise<{ copy: Sample; verifyMs?: number; result: CopyResult }> {
  await dstDriver.createVolume(dstVol);
  try {
    const src = await srcDriver.openVolume(srcVol);
    const dstRaw = await dstDriver.openVolume(dstVol);
    let flushMs = 0;
    const dst = timeFlush(dstRaw, (ms) => (flushMs = ms));
    try {
      const run = await withRssSampling(() => timed(() => copyVolumeData(src, dst, opts)));
      const copy: Sample = { ms: run.value.ms, peakRssBytes: run.peakRss, baseRssBytes: run.baseRss, flushMs };
      let verifyMs: number | undefined;
      if (withVerify) {
        const vo = {
          ...(opts.useBlockPath !== undefined ? { useBlockPath: opts.useBlockPath } : {}),
          ...(opts.directIo !== undefined ? { directIo: opts.directIo } : {}),
        };
        verifyMs = (await timed(() => verifyVolumeData(src, dstRaw, vo))).ms;
      }
      return { copy, result: run.value.value, ...(verifyMs !== undefined ? { verifyMs } : {}) };
    } finally {
      await src.close();
      await dstRaw.close();
    }
  } finally {
    await dstDriver.deleteVolume(dstVol);
  }
}

export interface CopyBenchResult {
  readonly [key: string]: unknown;
}

/** Runs the whole copy benchmark and returns its machine-readable result. */
export async function runCopyBench(cfg: CopyBenchConfig): Promise<CopyBenchResult> {
  const { log } = cfg;
  await mkdir(cfg.tmpDir, { recursive: true });
  const need = 3 * cfg.denseGiB * GiB + 4 * cfg.sparseDataMiB * MiB + 256 * MiB;
  const free = await freeBytes(cfg.tmpDir);
  if (free < need) {
    throw new Error(
      `not enough free disk space in ${cfg.tmpDir}: ${(free / GiB).toFixed(1)} GiB free, ${(need / GiB).toFixed(1)} GiB needed`,
    );
  }
  const fsType = await execFileP('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '-T', cfg.tmpDir]).then(
    (r) => r.stdout.trim().split(/\s+/).join(' on '),
    () => 'unknown',
  );
  const raw = createRawDriver(backend('raw', 'raw', path.join(cfg.tmpDir, 'raw')));
  const chunked = createChunkedDriver(backend('chunked', 'chunked', path.join(cfg.tmpDir, 'chunked')));
  await raw.setup();
  await chunked.setup();

  const cacheDropped = cfg.dropCaches && (await dropCaches());
  const cacheMode = cacheDropped
    ? 'cold (guest page cache dropped before every run; a VM host cache may still serve reads)'
    : cfg.dropCaches
      ? 'warm (could not drop the page cache: engine and cp read from it equally)'
      : 'warm (not dropped, by request: engine and cp read from it equally)';
  // Before every timed run: write back everything dirty (and commit the previous run's deletes),
  // then drop the page cache when we can.
  // Then let the machine settle a moment, so that a run does not pay for what the previous one
  // left behind (measured: without it, whichever run follows a cp + cmp is slower).
  const prepare = async (): Promise<void> => {
    if (cacheDropped) await dropCaches();
    else await execFileP('sync');
    await new Promise((r) => setTimeout(r, cfg.settleMs));
  };
  log(`copy bench: ${cfg.tmpDir} (${fsType}), ${os.cpus().length} CPUs, cache ${cacheDropped ? 'dropped' : 'not dropped'}`);

  // (a) dense
  const denseVol = loc('dense-src', cfg.denseGiB);
  const denseBytes = cfg.denseGiB * GiB;
  log(`(a) dense ${cfg.denseGiB} GiB volume, engine raw→raw vs cp ${CP_ARGS.join(' ')}`);
  await fillDense(raw, denseVol, log);
  const srcPath = await (async () => {
    const h = await raw.openVolume(denseVol);
    const p = h.blockPath;
    await h.close();
    if (p === null) throw new Error('raw volume without a block path');
    return p;
  })();
  const cpDst = path.join(cfg.tmpDir, 'raw', 'cp-dst.img');
  // Warm-up (untimed, both tools): the first read of freshly written data can come from the
  // physical disk while later ones hit a host-side cache; read it so every timed run starts alike.
  await runCp(srcPath, cpDst);
  await rm(cpDst, { force: true });
  await engineCopy(raw, denseVol, raw, loc('warm-up', cfg.denseGiB), {}, false);
  const loadBefore = (await readFile('/proc/loadavg', 'utf8').catch(() => '')).trim();
  const engine: Sample[] = [];
  const engineVerify: number[] = [];
  const cp: { copyMs: number; fsyncMs: number }[] = [];
  const cmp: number[] = [];
  let lastResult: CopyResult | undefined;
  for (let i = 0; i < cfg.reps; i++) {
    const engineFirst = i % 2 === 0;
    for (const which of engineFirst ? ['engine', 'cp'] : ['cp', 'engine']) {
      await prepare();
      if (which === 'engine') {
        const r = await engineCopy(raw, denseVol, raw, loc(`dense-dst-${i}`, cfg.denseGiB), {}, true);
        engine.push(r.copy);
        lastResult = r.result;
        // verify ran right after the copy (source and destination in the page cache, as after a real copy)
        engineVerify.push(r.verifyMs ?? Number.NaN);
        log(`  rep ${i + 1} engine: copy ${r.copy.ms.toFixed(0)} ms (flush ${r.copy.flushMs?.toFixed(0)} ms), verify ${r.verifyMs?.toFixed(0)} ms, peak RSS ${((r.copy.peakRssBytes ?? 0) / MiB).toFixed(0)} MiB`);
      } else {
        const r = await runCp(srcPath, cpDst);
        cp.push(r);
        const c = await timed(() => execFileP('cmp', [srcPath, cpDst]));
        cmp.push(c.ms);
        await rm(cpDst, { force: true });
        log(`  rep ${i + 1} cp: copy ${r.copyMs.toFixed(0)} ms + fsync ${r.fsyncMs.toFixed(0)} ms, cmp ${c.ms.toFixed(0)} ms`);
      }
    }
  }
  const engineMs = median(engine.map((s) => s.ms));
  const engineFlushMs = median(engine.map((s) => s.flushMs ?? 0));
  const engineVerifyMs = median(engineVerify);
  const engineCopyVerifyMs = median(engine.map((s, i) => s.ms + (engineVerify[i] ?? Number.NaN)));
  const cpMs = median(cp.map((c) => c.copyMs + c.fsyncMs));
  const cpOnlyMs = median(cp.map((c) => c.copyMs));
  const cpCmpMs = median(cp.map((c, i) => c.copyMs + c.fsyncMs + (cmp[i] ?? Number.NaN)));
  const peakRss = Math.max(...engine.map((s) => s.peakRssBytes ?? 0));
  const baseRss = Math.min(...engine.map((s) => s.baseRssBytes ?? Number.POSITIVE_INFINITY));

  // Engine variants: what the defaults were chosen from.
  const variants: Record<string, unknown>[] = [];
  {
    log('  engine variants (same dense volume, copy incl. flush):');
    const options: [string, CopyOptions][] = [
      ['block path, O_DIRECT, 4 MiB × 3 (default)', {}],
      ['block path, O_DIRECT, 16 MiB × 3', { bufferBytes: 16 * MiB }],
      ['block path, buffered, 4 MiB × 3, 1 MiB writes', { directIo: false }],
      ['handles (buffered), 4 MiB × 3, 1 MiB writes', { useBlockPath: false }],
      ...(cfg.explore
        ? ([
            ['block path, O_DIRECT, 4 MiB × 2', { buffers: 2 }],
            ['block path, O_DIRECT, 4 MiB × 8', { buffers: 8 }],
            ['block path, O_DIRECT, 1 MiB × 4', { bufferBytes: MiB, buffers: 4 }],
            ['block path, O_DIRECT, 4 MiB × 3, sparse', { sparse: true }],
            ['handles (buffered), 4 MiB × 3, 4 MiB writes', { useBlockPath: false, maxWriteBytes: 4 * MiB }],
            ['handles (buffered), 16 MiB × 3, 1 MiB writes', { useBlockPath: false, bufferBytes: 16 * MiB }],
          ] as [string, CopyOptions][])
        : []),
    ];
    for (const [name, o] of options) {
      const ms: number[] = [];
      for (let i = 0; i < cfg.reps; i++) {
        await prepare();
        ms.push((await engineCopy(raw, denseVol, raw, loc(`variant-${i}`, cfg.denseGiB), o, false)).copy.ms);
      }
      const m = median(ms);
      variants.push({ name, options: o, medianMs: round(m, 0), minMs: round(Math.min(...ms), 0), mibPerSec: round(mibps(denseBytes, m), 0), ratioToCp: round(cpMs / m, 3), samplesMs: ms.map((x) => round(x, 0)) });
      log(`    ${name.padEnd(32)} ${m.toFixed(0)} ms  ${mibps(denseBytes, m).toFixed(0)} MiB/s  ratio ${(cpMs / m).toFixed(3)}`);
    }
  }
  await raw.deleteVolume(denseVol);
  const loadAfter = (await readFile('/proc/loadavg', 'utf8').catch(() => '')).trim();

  // (b) sparse
  const sparseVol = loc('sparse-src', cfg.sparseGiB);
  const sparseData = cfg.sparseDataMiB * MiB;
  log(`(b) sparse ${cfg.sparseGiB} GiB volume with ${cfg.sparseDataMiB} MiB written in 100 scattered extents`);
  await fillSparse(raw, sparseVol, sparseData);
  const sparse: Record<string, unknown>[] = [];
  for (const [name, dstDriver] of [
    ['raw→raw', raw],
    ['raw→chunked', chunked],
  ] as const) {
    const runs: { ms: number; verifyMs: number; result: CopyResult; peak: number }[] = [];
    for (let i = 0; i < cfg.reps; i++) {
      await prepare();
      const r = await engineCopy(raw, sparseVol, dstDriver, loc(`sparse-dst-${i}`, cfg.sparseGiB), { sparse: true }, true);
      runs.push({ ms: r.copy.ms, verifyMs: r.verifyMs ?? Number.NaN, result: r.result, peak: r.copy.peakRssBytes ?? 0 });
    }
    const ms = median(runs.map((r) => r.ms));
    const verifyMs = median(runs.map((r) => r.verifyMs));
    const res = runs[0]?.result;
    const bytesCopied = res?.bytesCopied ?? 0;
    const nsPerByte = (ms * 1e6) / bytesCopied;
    const denseNsPerByte = (engineMs * 1e6) / denseBytes;
    sparse.push({
      path: name,
      volumeBytes: cfg.sparseGiB * GiB,
      dataBytesWritten: sparseData,
      bytesCopied,
      bytesWritten: res?.bytesWritten,
      medianCopyMs: round(ms, 0),
      medianVerifyMs: round(verifyMs, 0),
      copyMiBPerSecOfData: round(mibps(bytesCopied, ms), 0),
      nsPerCopiedByte: round(nsPerByte, 3),
      denseNsPerByte: round(denseNsPerByte, 3),
      timeIfProportionalToSizeMs: round(denseNsPerByte * cfg.sparseGiB * GiB / 1e6, 0),
      peakRssBytes: Math.max(...runs.map((r) => r.peak)),
      samplesMs: runs.map((r) => round(r.ms, 0)),
    });
    log(
      `  ${name}: copied ${(bytesCopied / MiB).toFixed(1)} MiB in ${ms.toFixed(0)} ms (${mibps(bytesCopied, ms).toFixed(0)} MiB/s of data; ` +
        `a dense ${cfg.sparseGiB} GiB copy at the dense rate would take ${((denseNsPerByte * cfg.sparseGiB * GiB) / 1e9).toFixed(1)} s), verify ${verifyMs.toFixed(0)} ms`,
    );
  }
  await raw.deleteVolume(sparseVol);

  return {
    benchmark: 'copy',
    date: new Date().toISOString(),
    node: process.version,
    environment: {
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryBytes: os.totalmem(),
      fileSystem: fsType,
      pageCache: cacheMode,
      uvThreadpoolSize: process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)',
      loadAverageBeforeDense: loadBefore,
      loadAverageAfterDense: loadAfter,
      settleMsBeforeEachRun: cfg.settleMs,
      note:
        'shared 2-vCPU VM (other jobs may run; see load averages), free page reporting and DAMON active: run-to-run noise is large, ' +
        'hence alternating runs, medians and the best run of each',
    },
    config: { denseGiB: cfg.denseGiB, sparseGiB: cfg.sparseGiB, sparseDataMiB: cfg.sparseDataMiB, reps: cfg.reps, seed: SEED },
    dense: {
      volumeBytes: denseBytes,
      cpCommand: `cp ${CP_ARGS.join(' ')} SRC DST, then fdatasync(DST)`,
      cpWhy:
        'GNU cp without --reflink=never copies in the kernel (copy_file_range, one memory copy), the fastest plain copy on this ' +
        'file system (ext4 has no reflink, so it is a real data copy); --sparse=never because the source is dense (cp then ' +
        'still uses copy_file_range); fdatasync afterwards because the engine ends with flush() (fdatasync), so both end equally durable',
      engineOptions: {
        sparse: false,
        bufferBytes: 4 * MiB,
        buffers: 3,
        verifyReads: lastResult?.usedDirectIo ? 'O_DIRECT (from disk)' : 'buffered',
        usedBlockPath: lastResult?.usedBlockPath ?? false,
        usedDirectIo: lastResult?.usedDirectIo ?? false,
      },
      engineMedianMs: round(engineMs, 0),
      engineMinMs: round(Math.min(...engine.map((s) => s.ms)), 0),
      cpMinMs: round(Math.min(...cp.map((c) => c.copyMs + c.fsyncMs)), 0),
      engineFlushMedianMs: round(engineFlushMs, 0),
      engineVerifyMedianMs: round(engineVerifyMs, 0),
      cpMedianMs: round(cpMs, 0),
      cpWithoutFsyncMedianMs: round(cpOnlyMs, 0),
      cpPlusCmpMedianMs: round(cpCmpMs, 0),
      engineMiBPerSec: round(mibps(denseBytes, engineMs), 0),
      cpMiBPerSec: round(mibps(denseBytes, cpMs), 0),
      ratioCopy: round(cpMs / engineMs, 3),
      ratioCopyPlusVerifyVsCp: round(cpMs / engineCopyVerifyMs, 3),
      ratioCopyPlusVerifyVsCpPlusCmp: round(cpCmpMs / engineCopyVerifyMs, 3),
      peakRssBytes: peakRss,
      baseRssBytes: baseRss,
      samples: {
        engineMs: engine.map((s) => round(s.ms, 0)),
        engineFlushMs: engine.map((s) => round(s.flushMs ?? 0, 0)),
        engineVerifyMs: engineVerify.map((x) => round(x, 0)),
        cpMs: cp.map((c) => round(c.copyMs, 0)),
        cpFsyncMs: cp.map((c) => round(c.fsyncMs, 0)),
        cmpMs: cmp.map((x) => round(x, 0)),
      },
      variants,
    },
    sparse,
  };
}
