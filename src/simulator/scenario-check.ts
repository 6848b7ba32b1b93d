/**
 * The checks a schema cannot make, and the compiled {@link Scenario}: times resolved against the
 * start, pools that must exist when an event names them, overlapping events, growth that would
 * remove more than the fleet holds, a horizon of zero. Every problem is located. Pure.
 *
 * @module
 */
import { dirname, resolve } from 'node:path';
import type { Inventory } from '../model/index.js';
import { matchesGlob, parseDuration, parseRate, parseSize } from '../policy/index.js';
import { formatLocation, GiB, suggest, type FileProblem } from '../shared/index.js';
import { GROWTH_RATE_PATTERN, type ScenarioEventDoc } from './scenario-schema.js';
import type { LoadedScenario } from './scenario-load.js';
import { sortScenarioProblems } from './scenario-load.js';
import type { GrowthShape, GrowthSpec, NewPoolSpec, Scenario, ScenarioAction, ScenarioEvent } from './scenario-types.js';
import { DEFAULT_TIMING, type PoolBandwidth, type TimingModel } from './timing.js';

const DAY = 86_400_000;
const ACTIONS = ['addPool', 'addBackend', 'removePool', 'removeBackend', 'drain', 'growth', 'price', 'failPool', 'policies'] as const;

/** The scenario, or its problems. */
export interface ScenarioCheckResult {
  readonly scenario: Scenario | null;
  readonly problems: readonly FileProblem[];
}

const num = (r: { ok: true; value: number } | { ok: false; message: string }): number => (r.ok ? r.value : NaN);
const ms = (s: string): number => num(parseDuration(s));
const gib = (s: string): number => num(parseSize(s)) / GiB;
const bw = (b: { read: string; write: string }): PoolBandwidth => ({ readBytesPerSec: num(parseRate(b.read)), writeBytesPerSec: num(parseRate(b.write)) });

/** Days per growth-rate period. */
const PERIOD_DAYS: Record<string, number> = { d: 1, w: 7, mo: 30, y: 365 };

function growthShape(rate: string): GrowthShape {
  const m = new RegExp(GROWTH_RATE_PATTERN).exec(rate)!;
  const amount = Number(m[1]);
  const days = PERIOD_DAYS[m[3]!]!;
  if (m[2] === '%') return { kind: 'compound', perDay: Math.pow(1 + amount / 100, 1 / days) - 1 };
  const unit = num(parseSize(`1${m[2]!}`)) / GiB;
  return { kind: 'linear', gibPerDay: (amount * unit) / days };
}

/** GiB a growth adds (negative: removes) between its start and `afterMs` later, given `usedGiB` at its start. */
export function growthAddedGiB(shape: GrowthShape, afterMs: number, usedGiB: number): number {
  const days = Math.max(0, afterMs) / DAY;
  if (shape.kind === 'linear') return shape.gibPerDay * days;
  if (shape.kind === 'compound') return usedGiB * (Math.pow(1 + shape.perDay, days) - 1);
  const pts = shape.points;
  if (afterMs <= pts[0]!.afterMs) return pts[0]!.afterMs === 0 ? pts[0]!.gib : (pts[0]!.gib * afterMs) / pts[0]!.afterMs;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (afterMs <= b.afterMs) return b.afterMs === a.afterMs ? b.gib : a.gib + ((b.gib - a.gib) * (afterMs - a.afterMs)) / (b.afterMs - a.afterMs);
  }
  return pts[pts.length - 1]!.gib;
}

/**
 * Checks a loaded scenario against its base inventory and compiles it. `knownFiles` says whether a
 * policy path (absolute) exists; the caller does that I/O.
 */
export function checkScenario(loaded: LoadedScenario, base: Inventory, fileExists: (absPath: string) => boolean): ScenarioCheckResult {
  const { document: doc, source, file } = loaded;
  const problems: FileProblem[] = [];
  const problem = (path: (string | number)[], message: string, which: 'key' | 'value' = 'value'): void => {
    problems.push({ location: source.locate(path, which), path: path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join(''), message });
  };
  const origin = (path: (string | number)[]): string => formatLocation(source.locate(path));
  const dir = dirname(file);

  // -- base and start
  if ((doc.base.inventory === undefined) === (doc.base.generate === undefined)) problem(['base'], 'expected exactly one of inventory or generate');
  let startMs = base.takenAtMs;
  if (doc.start !== undefined) {
    startMs = Date.parse(doc.start.length === 10 ? `${doc.start}T00:00:00Z` : doc.start);
    if (!Number.isFinite(startMs)) problem(['start'], `not a valid date: ${doc.start}`);
  }
  const horizonMs = ms(doc.horizon);
  if (horizonMs <= 0) problem(['horizon'], `the horizon must be longer than zero, found '${doc.horizon}'`);
  const sampleEveryMs = ms(doc.sampleEvery);
  if (sampleEveryMs <= 0) problem(['sampleEvery'], `must be longer than zero, found '${doc.sampleEvery}'`);
  else if (horizonMs > 0 && horizonMs / sampleEveryMs > 100_000) problem(['sampleEvery'], `${doc.sampleEvery} over ${doc.horizon} makes more than 100000 samples: sample less often`);
  let rebalance: Scenario['rebalance'] = null;
  if (doc.rebalance) {
    const everyMs = ms(doc.rebalance.every);
    const firstMs = ms(doc.rebalance.first);
    if (everyMs <= 0) problem(['rebalance', 'every'], `must be longer than zero, found '${doc.rebalance.every}'`);
    else if (horizonMs > 0 && everyMs > horizonMs) problem(['rebalance', 'every'], `every ${doc.rebalance.every} is longer than the horizon ${doc.horizon}: the optimizer would run at most once`);
    if (horizonMs > 0 && firstMs >= horizonMs) problem(['rebalance', 'first'], `the first run (${doc.rebalance.first}) is not before the end of the horizon (${doc.horizon})`);
    rebalance = { everyMs, firstMs };
  }
  const growthVolumeSizeGiB = gib(doc.growthVolumeSize);
  if (!(growthVolumeSizeGiB >= 1)) problem(['growthVolumeSize'], `new volumes must be at least 1GiB, found '${doc.growthVolumeSize}'`);

  const policies = doc.policies.map((p, i) => {
    const abs = resolve(dir, p);
    if (!fileExists(abs)) problem(['policies', i], `no policy file ${p} (looked for ${abs})`);
    return abs;
  });

  // -- timing
  const t = doc.timing;
  const timing: TimingModel = {
    defaultPool: t.poolBandwidth ? bw(t.poolBandwidth) : DEFAULT_TIMING.defaultPool,
    pools: Object.fromEntries(Object.entries(t.pools ?? {}).map(([k, v]) => [k, bw(v)])),
    linkBytesPerSec: t.link === 'none' ? null : num(parseRate(t.link)),
    moveOverheadMs: ms(t.moveOverhead),
    liveWriteBytesPerSec: num(parseRate(t.liveWriteRate)),
    failureProbability: t.failureProbability,
    failureProbabilityByBackend: { ...(t.failureProbabilityByBackend ?? {}) },
  };
  const basePools = new Set(base.pools.map((p) => p.name));
  for (const name of Object.keys(t.pools ?? {})) {
    const added = doc.events.some((e) => e.addPool?.name === name || (e.addBackend && e.addBackend.pools.some((p) => `${e.addBackend!.name}#${p.name}` === name)));
    if (!basePools.has(name) && !added) problem(['timing', 'pools', name], unknownPool(name, basePools), 'key');
  }

  // -- events, in time order (stable)
  const resolveAt = (at: string): number => (/^[0-9]{4}-/.test(at) ? Date.parse(at.length === 10 ? `${at}T00:00:00Z` : at) - startMs : ms(at));
  const indexed = doc.events.map((e, i) => ({ e, i, atMs: resolveAt(e.at) }));
  for (const { e, i, atMs } of indexed) {
    const present = ACTIONS.filter((a) => e[a] !== undefined);
    if (present.length !== 1) problem(['events', i], present.length === 0 ? `expected one action (${ACTIONS.join(', ')}) besides 'at'` : `expected one action per event, found ${present.join(' and ')}: split them into separate events`);
    if (!Number.isFinite(atMs)) problem(['events', i, 'at'], `not a valid time: ${e.at}`);
    else if (atMs < 0) problem(['events', i, 'at'], `${e.at} is before the start of the scenario (${new Date(startMs).toISOString()})`);
    else if (horizonMs > 0 && atMs >= horizonMs) problem(['events', i, 'at'], `${e.at} is not before the end of the horizon (${doc.horizon})`);
  }
  const ordered = [...indexed].sort((a, b) => a.atMs - b.atMs || a.i - b.i);

  const pools = new Map(base.pools.map((p) => [p.name, { backend: p.backend, usedGiB: p.allocatedGiB }]));
  const types = new Set(base.volumeTypes.map((v) => v.name));
  const usedByType = new Map<string, number>();
  for (const v of base.volumes) usedByType.set(v.volumeType, (usedByType.get(v.volumeType) ?? 0) + v.sizeGiB);
  const usedByPool = new Map<string, number>();
  for (const v of base.volumes) usedByPool.set(v.pool, (usedByPool.get(v.pool) ?? 0) + v.sizeGiB);
  const sameTime = new Map<string, { i: number; what: string }>();
  const growths: { key: string; from: number; until: number; i: number }[] = [];
  const events: ScenarioEvent[] = [];

  const needPool = (name: string, path: (string | number)[]): boolean => {
    if (pools.has(name)) return true;
    problem(path, `${unknownPool(name, pools.keys())} at that time`);
    return false;
  };
  const claim = (atMs: number, subject: string, i: number, what: string, path: (string | number)[]): void => {
    const key = `${atMs}|${subject}`;
    const prior = sameTime.get(key);
    if (prior) problem(path, `overlapping events: ${what} at the same time as ${prior.what} (${origin(['events', prior.i])})`);
    else sameTime.set(key, { i, what });
  };

  for (const { e, i, atMs } of ordered) {
    const at = ['events', i];
    let action: ScenarioAction | null = null;
    let label = '';
    if (e.addPool || e.addBackend) {
      const specs: NewPoolSpec[] = [];
      const key = e.addPool ? 'addPool' : 'addBackend';
      const list = e.addPool
        ? [{ full: e.addPool.name, p: e.addPool, vbn: e.addPool.volumeBackendName, path: [...at, 'addPool', 'name'] }]
        : e.addBackend!.pools.map((p, j) => ({ full: `${e.addBackend!.name}#${p.name}`, p, vbn: e.addBackend!.volumeBackendName, path: [...at, 'addBackend', 'pools', j, 'name'] }));
      for (const { full, p, vbn, path } of list) {
        if (pools.has(full)) {
          problem(path, `pool ${full} already exists at that time`);
          continue;
        }
        const backend = full.slice(0, full.indexOf('#'));
        const totalGiB = gib(p.size);
        if (!(totalGiB > 0)) problem([...path.slice(0, -1), 'size'], `a pool needs a size above zero, found '${p.size}'`);
        specs.push({
          name: full,
          backend,
          volumeBackendName: vbn ?? backend.slice(backend.indexOf('@') + 1),
          totalGiB,
          thin: p.provisioning === 'thin',
          maxOverSubscriptionRatio: p.maxOverSubscriptionRatio,
          reservedPercentage: p.reservedPercentage,
          availabilityZone: p.availabilityZone,
          capabilities: { ...(p.capabilities ?? {}) },
          costPerGiBMonth: p.price ?? null,
        });
        pools.set(full, { backend, usedGiB: 0 });
        if (p.bandwidth) (timing.pools as Record<string, PoolBandwidth>)[full] = bw(p.bandwidth);
        claim(atMs, full, i, `${key} ${full}`, path);
      }
      action = { kind: 'addPools', pools: specs };
      label = `add ${specs.map((s) => `${s.name} (${s.totalGiB} GiB)`).join(', ')}`;
    } else if (e.removePool !== undefined || e.removeBackend !== undefined) {
      let names: string[];
      if (e.removePool !== undefined) names = needPool(e.removePool, [...at, 'removePool']) ? [e.removePool] : [];
      else {
        names = [...pools.entries()].filter(([, p]) => p.backend === e.removeBackend).map(([n]) => n).sort();
        if (names.length === 0) problem([...at, 'removeBackend'], `no back-end ${e.removeBackend} at that time${hint(e.removeBackend!, new Set([...pools.values()].map((p) => p.backend)))}`);
      }
      for (const n of names) {
        claim(atMs, n, i, `remove ${n}`, [...at, e.removePool !== undefined ? 'removePool' : 'removeBackend']);
        pools.delete(n);
      }
      action = { kind: 'removePools', pools: names };
      label = `remove ${names.join(', ')}`;
    } else if (e.drain) {
      e.drain.forEach((pat, j) => {
        if (![...pools.keys()].some((p) => matchesGlob(pat, p))) problem([...at, 'drain', j], `${unknownPool(pat, pools.keys())} at that time`);
      });
      action = { kind: 'drain', patterns: [...e.drain] };
      label = `drain ${e.drain.join(', ')}`;
    } else if (e.failPool !== undefined) {
      if (needPool(e.failPool, [...at, 'failPool'])) claim(atMs, e.failPool, i, `failPool ${e.failPool}`, [...at, 'failPool']);
      action = { kind: 'failPool', pool: e.failPool };
      label = `pool ${e.failPool} fails`;
    } else if (e.price) {
      if (![...pools.keys()].some((p) => matchesGlob(e.price!.pools, p))) problem([...at, 'price', 'pools'], `${unknownPool(e.price.pools, pools.keys())} at that time`);
      claim(atMs, `price:${e.price.pools}`, i, `price ${e.price.pools}`, [...at, 'price']);
      action = { kind: 'price', pattern: e.price.pools, costPerGiBMonth: e.price.perGiBMonth };
      label = `price of ${e.price.pools} becomes ${e.price.perGiBMonth}/GiB-month`;
    } else if (e.policies) {
      const files = e.policies.map((p, j) => {
        const abs = resolve(dir, p);
        if (!fileExists(abs)) problem([...at, 'policies', j], `no policy file ${p} (looked for ${abs})`);
        return abs;
      });
      claim(atMs, 'policies', i, 'policies', [...at, 'policies']);
      action = { kind: 'policies', files };
      label = `policies become ${e.policies.join(', ')}`;
    } else if (e.growth) {
      const g = checkGrowth(e, i, atMs);
      if (g) {
        action = { kind: 'growth', growth: g };
        label = `growth of ${'pool' in g.scope ? g.scope.pool : `type ${g.scope.volumeType}`}: ${e.growth.rate ?? 'curve'}${e.growth.until ? ` until ${e.growth.until}` : ''}`;
      }
    }
    if (action) events.push({ atMs, action, origin: origin(at), label });
  }

  function checkGrowth(e: ScenarioEventDoc, i: number, atMs: number): GrowthSpec | null {
    const g = e.growth!;
    const at = ['events', i, 'growth'];
    let ok = true;
    if ((g.pool === undefined) === (g.volumeType === undefined)) {
      problem(at, 'expected exactly one of pool or volumeType');
      ok = false;
    }
    if ((g.rate === undefined) === (g.curve === undefined)) {
      problem(at, 'expected exactly one of rate or curve');
      ok = false;
    }
    if (g.pool !== undefined && !needPool(g.pool, [...at, 'pool'])) ok = false;
    if (g.volumeType !== undefined && !types.has(g.volumeType)) {
      problem([...at, 'volumeType'], `no volume type ${g.volumeType}${hint(g.volumeType, types)}`);
      ok = false;
    }
    if (g.volumeTypeOfNew !== undefined && !types.has(g.volumeTypeOfNew)) {
      problem([...at, 'volumeTypeOfNew'], `no volume type ${g.volumeTypeOfNew}${hint(g.volumeTypeOfNew, types)}`);
      ok = false;
    }
    const untilMs = g.until !== undefined ? resolveAt(g.until) : horizonMs;
    if (g.until !== undefined && !(untilMs > atMs)) {
      problem([...at, 'until'], `the growth ends (${g.until}) before it starts (${e.at})`);
      ok = false;
    }
    let shape: GrowthShape | null = null;
    if (g.rate !== undefined) shape = growthShape(g.rate);
    if (g.curve !== undefined) {
      const points = g.curve.map((p) => ({ afterMs: ms(p.at), gib: num(parseSize(p.add.replace(/^-/, ''))) / GiB * (p.add.startsWith('-') ? -1 : 1) }));
      for (let j = 1; j < points.length; j++) {
        if (points[j]!.afterMs <= points[j - 1]!.afterMs) {
          problem([...at, 'curve', j, 'at'], `curve points must be in increasing time, found ${g.curve[j]!.at} after ${g.curve[j - 1]!.at}`);
          ok = false;
        }
      }
      shape = { kind: 'curve', points };
    }
    if (!ok || !shape) return null;
    const scopeKey = g.pool !== undefined ? `pool:${g.pool}` : `type:${g.volumeType!}`;
    const end = Math.min(untilMs, horizonMs);
    for (const o of growths) {
      if (o.key === scopeKey && o.from < end && atMs < o.until) {
        problem(at, `overlapping events: this growth of ${scopeKey.replace(':', ' ')} overlaps the one at ${origin(['events', o.i])}`);
        return null;
      }
    }
    growths.push({ key: scopeKey, from: atMs, until: end, i });
    const used = g.pool !== undefined ? (usedByPool.get(g.pool) ?? 0) : (usedByType.get(g.volumeType!) ?? 0);
    let lowest = 0;
    if (shape.kind === 'curve') for (const p of shape.points) if (p.afterMs <= end - atMs) lowest = Math.min(lowest, p.gib);
    lowest = Math.min(lowest, growthAddedGiB(shape, end - atMs, used));
    if (-lowest > used + 1e-9) {
      problem([...at, g.rate !== undefined ? 'rate' : 'curve'], `negative growth beyond the fleet: removes ${round1(-lowest)} GiB but ${g.pool !== undefined ? `pool ${g.pool}` : `type ${g.volumeType!}`} holds ${round1(used)} GiB`);
      return null;
    }
    const volumeSizeGiB = g.volumeSize !== undefined ? gib(g.volumeSize) : growthVolumeSizeGiB;
    return {
      scope: g.pool !== undefined ? { pool: g.pool } : { volumeType: g.volumeType! },
      fromMs: atMs,
      untilMs: end,
      shape,
      volumeSizeGiB,
      newVolumeType: g.volumeTypeOfNew ?? null,
    };
  }

  if (problems.length > 0) return { scenario: null, problems: sortScenarioProblems(problems) };
  return {
    scenario: {
      file,
      name: doc.metadata.name,
      description: doc.metadata.description,
      seed: doc.seed,
      base: doc.base.inventory !== undefined ? { kind: 'inventory', path: resolve(dir, doc.base.inventory) } : { kind: 'generate', pools: doc.base.generate!.pools, volumes: doc.base.generate!.volumes, seed: doc.base.generate!.seed ?? doc.seed },
      startMs,
      horizonMs,
      rebalance,
      sampleEveryMs,
      growthVolumeSizeGiB,
      solveTimeLimitMs: ms(doc.solveTimeLimit),
      policies,
      timing,
      events,
    },
    problems: [],
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function hint(name: string, known: Iterable<string>): string {
  const s = suggest(name, known);
  return s ? ` (did you mean '${s}'?)` : '';
}

function unknownPool(name: string, known: Iterable<string>): string {
  return `unknown pool ${name}${hint(name, known)}`;
}
