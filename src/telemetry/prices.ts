/**
 * The price catalogue: what a GiB-month (and optionally an IOPS-month) costs on each pool, chosen
 * by pool, back-end or volume type (globs allowed), in one currency. Validated like a policy:
 * every problem at once, each with `file:line:col`; then checked against the fleet, where a
 * selector that names no pool is an error too (with a did-you-mean).
 *
 * ```yaml
 * apiVersion: ballast/v1
 * kind: PriceCatalogue
 * currency: EUR
 * prices:
 *   - pool: "ballast@fast#*"
 *     perGiBMonth: 0.12            # or "0.12 EUR/GiB-month", "120 EUR/TiB-month"
 *     perIopsMonth: "0.002 EUR/IOPS-month"
 *   - backend: capacity            # volume_backend_name, or host@backend
 *     perGiBMonth: 0.03
 *   - volumeType: "gold*"          # pools that can serve the type
 *     perGiBMonth: 0.2
 * ```
 * A pool takes the first matching entry of the most specific kind: pool, then back-end, then type.
 *
 * @module
 */
import { z } from 'zod';
import { capabilitiesMatch, parseHost, type FleetPool, type InventoryVolumeType } from '../model/index.js';
import { FileValidationError, isGlob, matchesGlob, parseYamlSource, suggest, zodIssuesToProblems, type FileProblem, type YamlSource } from '../shared/index.js';

const CURRENCY_RE = /^[A-Z]{3}$/;
const PRICE_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]{3})\s*\/\s*([A-Za-z]+)-month$/;
const GIB_UNITS: Readonly<Record<string, number>> = { MiB: 1 / 1024, GiB: 1, TiB: 1024 };

/** A price as written: a number in the catalogue's currency, or `"<amount> <CUR>/<unit>-month"`. */
const priceValue = (per: 'GiB' | 'IOPS') =>
  z
    .union([z.number(), z.string()], { error: `expected a number or a price such as "0.10 EUR/${per}-month"` })
    .refine((v) => typeof v === 'string' || (Number.isFinite(v) && v >= 0), { error: 'a price must be a number ≥ 0' })
    .describe(`Price per ${per}-month: a number in the catalogue's currency, or "<amount> <CUR>/${per === 'GiB' ? 'GiB|TiB' : 'IOPS'}-month".`);

const entrySchema = z
  .object({
    pool: z.string().min(1).optional().describe('Pool as host@backend#pool; globs * and ? allowed.'),
    backend: z.string().min(1).optional().describe('Back-end: volume_backend_name or host@backend; globs allowed.'),
    volumeType: z.string().min(1).optional().describe('Volume type name; the price applies to the pools that can serve it. Globs allowed.'),
    perGiBMonth: priceValue('GiB'),
    perIopsMonth: priceValue('IOPS').optional(),
  })
  .strict()
  .refine((e) => [e.pool, e.backend, e.volumeType].filter((x) => x !== undefined).length === 1, {
    error: 'each price names exactly one of pool, backend or volumeType',
  });

/** Schema of a price catalogue file. */
export const priceCatalogueSchema = z
  .object({
    apiVersion: z.literal('ballast/v1').describe('Always ballast/v1.'),
    kind: z.literal('PriceCatalogue').describe('Always PriceCatalogue.'),
    currency: z
      .string()
      .refine((c) => CURRENCY_RE.test(c), { error: 'currency must be an ISO 4217 code such as EUR or USD' })
      .describe('ISO 4217 currency code of every price.'),
    prices: z.array(entrySchema).min(1, { error: 'a catalogue needs at least one price' }).describe('Prices, most specific kind first wins.'),
  })
  .strict();

/** One entry of a loaded catalogue, prices in the catalogue's currency. */
export interface PriceEntry {
  readonly index: number;
  readonly kind: 'pool' | 'backend' | 'volumeType';
  readonly pattern: string;
  readonly perGiBMonth: number;
  readonly perIopsMonth: number | null;
}

/** A validated catalogue (not yet checked against a fleet). */
export interface PriceCatalogue {
  readonly file: string;
  readonly currency: string;
  readonly entries: readonly PriceEntry[];
  /** Where things are in the file (for located errors against the fleet). */
  readonly source: YamlSource;
}

/** The price of one pool. */
export interface PoolPrice {
  readonly perGiBMonth: number;
  readonly perIopsMonth: number | null;
  readonly currency: string;
  /** Which entry set it (`prices[2]`), for explanations. */
  readonly from: string;
}

function parsePrice(v: number | string, per: 'GiB' | 'IOPS', currency: string | null): { value: number } | { error: string } {
  if (typeof v === 'number') return { value: v };
  const m = PRICE_RE.exec(v.trim());
  if (!m) return { error: `'${v}' is not a price: write a number, or "<amount> ${currency ?? 'CUR'}/${per}-month"` };
  const [, amount = '', cur = '', unit = ''] = m;
  if (currency !== null && cur !== currency) return { error: `price in ${cur} but the catalogue's currency is ${currency}` };
  if (per === 'IOPS') return unit === 'IOPS' ? { value: Number(amount) } : { error: `unknown unit '${unit}-month' for perIopsMonth: expected IOPS-month` };
  const factor = GIB_UNITS[unit];
  if (factor === undefined) {
    const hint = /^[kmgt]b$/i.test(unit) ? ` (binary units: write ${unit[0]!.toUpperCase()}iB)` : '';
    return { error: `unknown unit '${unit}-month' for perGiBMonth: expected GiB-month, TiB-month or MiB-month${hint}` };
  }
  return { value: Number(amount) / factor };
}

/**
 * Parses and validates a catalogue's text. Throws {@link FileValidationError}
 * `PRICE_CATALOGUE_INVALID` with every located problem.
 */
export function parsePriceCatalogue(file: string, text: string): PriceCatalogue {
  const source = parseYamlSource(file, text);
  const fail = (problems: FileProblem[]): never => {
    throw new FileValidationError('PRICE_CATALOGUE_INVALID', file, problems);
  };
  if (source.syntaxProblems.length > 0) fail([...source.syntaxProblems]);
  if (source.value === undefined || source.value === null) fail([{ location: { file, line: 1, col: 1 }, path: '', message: 'the file is empty: expected a price catalogue (apiVersion: ballast/v1, kind: PriceCatalogue)' }]);
  const parsed = priceCatalogueSchema.safeParse(source.value);
  // Units are checked on the document as written, so they are reported with the schema's problems.
  const raw = source.value as { currency?: unknown; prices?: unknown };
  const currency = typeof raw.currency === 'string' && CURRENCY_RE.test(raw.currency) ? raw.currency : null;
  const problems: FileProblem[] = parsed.success ? [] : zodIssuesToProblems(source, parsed.error.issues, priceCatalogueSchema);
  const parsedPrices = new Map<string, number | null>();
  (Array.isArray(raw.prices) ? (raw.prices as unknown[]) : []).forEach((item, index) => {
    for (const [field, per] of [['perGiBMonth', 'GiB'], ['perIopsMonth', 'IOPS']] as const) {
      const v = (item as Record<string, unknown> | null)?.[field];
      if (typeof v !== 'string' && typeof v !== 'number') continue;
      const r = parsePrice(v, per, currency);
      if ('error' in r) problems.push({ location: source.locate(['prices', index, field]), path: `prices[${index}].${field}`, message: r.error });
      else parsedPrices.set(`${index}.${field}`, r.value);
    }
  });
  if (!parsed.success || problems.length > 0) fail(problems.sort((a, b) => a.location.line - b.location.line || a.location.col - b.location.col));
  const doc = parsed.data!;
  const entries: PriceEntry[] = doc.prices.map((e, index) => ({
    index,
    kind: e.pool !== undefined ? 'pool' : e.backend !== undefined ? 'backend' : 'volumeType',
    pattern: (e.pool ?? e.backend ?? e.volumeType)!,
    perGiBMonth: parsedPrices.get(`${index}.perGiBMonth`)!,
    perIopsMonth: parsedPrices.get(`${index}.perIopsMonth`) ?? null,
  }));
  return { file, currency: doc.currency, entries, source };
}

function entryMatches(e: PriceEntry, pool: FleetPool, types: readonly InventoryVolumeType[]): boolean {
  const m = (name: string) => (isGlob(e.pattern) ? matchesGlob(e.pattern, name) : e.pattern === name);
  switch (e.kind) {
    case 'pool':
      return m(pool.name);
    case 'backend':
      return m(pool.volumeBackendName) || m(pool.backend) || m(parseHost(pool.name).backend);
    case 'volumeType':
      return types.some((t) => m(t.name) && capabilitiesMatch(t.extraSpecs, pool.capabilities).pass);
  }
}

/**
 * The price of every pool (pools no entry matches are absent), checked against the fleet: an entry
 * that matches no pool, or names a volume type that does not exist, is a located problem.
 */
export function resolvePrices(cat: PriceCatalogue, pools: readonly FleetPool[], types: readonly InventoryVolumeType[]): Map<string, PoolPrice> {
  const problems: FileProblem[] = [];
  for (const e of cat.entries) {
    if (pools.some((p) => entryMatches(e, p, types))) continue;
    const field = e.kind;
    const names =
      e.kind === 'pool' ? pools.map((p) => p.name) : e.kind === 'backend' ? [...new Set(pools.flatMap((p) => [p.volumeBackendName, p.backend]))] : types.map((t) => t.name);
    const hint = isGlob(e.pattern) ? null : suggest(e.pattern, names.filter((n) => n !== e.pattern));
    const typeExists = e.kind === 'volumeType' && types.some((t) => (isGlob(e.pattern) ? matchesGlob(e.pattern, t.name) : t.name === e.pattern));
    const what = typeExists ? 'names volume types no pool of this fleet can serve' : `matches no ${e.kind === 'pool' ? 'pool' : e.kind === 'backend' ? 'back-end' : 'volume type'} of this fleet`;
    problems.push({
      location: cat.source.locate(['prices', e.index, field]),
      path: `prices[${e.index}].${field}`,
      message: `'${e.pattern}' ${what}${hint ? ` (did you mean '${hint}'?)` : ''}; known: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}`,
    });
  }
  if (problems.length > 0) throw new FileValidationError('PRICE_CATALOGUE_INVALID', cat.file, problems);
  const order: PriceEntry['kind'][] = ['pool', 'backend', 'volumeType'];
  const out = new Map<string, PoolPrice>();
  for (const pool of pools) {
    for (const kind of order) {
      const e = cat.entries.find((x) => x.kind === kind && entryMatches(x, pool, types));
      if (e) {
        out.set(pool.name, { perGiBMonth: e.perGiBMonth, perIopsMonth: e.perIopsMonth, currency: cat.currency, from: `prices[${e.index}]` });
        break;
      }
    }
  }
  return out;
}
