import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { FleetPool, InventoryVolumeType } from '../../src/model/index.js';
import { FileValidationError, formatLocation } from '../../src/shared/index.js';
import { parsePriceCatalogue, resolvePrices } from '../../src/telemetry/index.js';

const HEAD = 'apiVersion: ballast/v1\nkind: PriceCatalogue\ncurrency: EUR\nprices:\n';

function problemsOf(text: string, pools?: readonly FleetPool[]): string[] {
  try {
    const cat = parsePriceCatalogue('prices.yaml', text);
    if (pools) resolvePrices(cat, pools, TYPES);
  } catch (e) {
    expect(e).toBeInstanceOf(FileValidationError);
    expect((e as FileValidationError).code).toBe('PRICE_CATALOGUE_INVALID');
    return (e as FileValidationError).problems.map((p) => `${formatLocation(p.location)}: ${p.path}: ${p.message}`);
  }
  return [];
}

const pool = (name: string, volumeBackendName: string, caps: Record<string, string> = {}): FleetPool => ({
  name,
  backend: name.split('#')[0]!,
  volumeBackendName,
  availabilityZone: 'nova',
  capacity: { totalCapacityGb: 100, freeCapacityGb: 100, provisionedCapacityGb: 0, maxOverSubscriptionRatio: 20, reservedPercentage: 0, thinProvisioningSupport: true, thickProvisioningSupport: false },
  allocatedGiB: 0,
  capabilities: { volume_backend_name: volumeBackendName, ...caps },
  ratedIops: null,
  ratedThroughputBytesPerSec: null,
  state: 'up',
});
const POOLS = [pool('ballast@fast#ssd-a', 'fast', { tier: 'gold' }), pool('ballast@fast#ssd-b', 'fast'), pool('ballast@capacity#hdd-a', 'capacity'), pool('ballast@capacity#hdd-b', 'capacity')];
const TYPES: InventoryVolumeType[] = [
  { id: 't1', name: 'gold', extraSpecs: { volume_backend_name: 'fast', 'capabilities:tier': 'gold' } },
  { id: 't2', name: 'standard', extraSpecs: { volume_backend_name: 'capacity' } },
  { id: 't3', name: 'nowhere', extraSpecs: { volume_backend_name: 'tape' } },
];

describe('price catalogue: located errors', () => {
  test.each([
    { name: 'unknown key with a did-you-mean', body: '  - pool: "ballast@fast#*"\n    perGibMonth: 0.1\n', want: ['prices.yaml:5:5: prices[0].perGiBMonth: expected a number or a price such as "0.10 EUR/GiB-month" (found nothing)', "prices.yaml:6:5: prices[0].perGibMonth: unknown key 'perGibMonth' (did you mean 'perGiBMonth'?)"] },
    { name: 'decimal unit', body: '  - backend: fast\n    perGiBMonth: "0.1 EUR/GB-month"\n', want: ["prices.yaml:6:18: prices[0].perGiBMonth: unknown unit 'GB-month' for perGiBMonth: expected GiB-month, TiB-month or MiB-month (binary units: write GiB)"] },
    { name: 'another currency', body: '  - backend: fast\n    perGiBMonth: "0.1 USD/GiB-month"\n', want: ["prices.yaml:6:18: prices[0].perGiBMonth: price in USD but the catalogue's currency is EUR"] },
    { name: 'IOPS price per GiB', body: '  - backend: fast\n    perGiBMonth: 1\n    perIopsMonth: "0.1 EUR/GiB-month"\n', want: ["prices.yaml:7:19: prices[0].perIopsMonth: unknown unit 'GiB-month' for perIopsMonth: expected IOPS-month"] },
    { name: 'not a price', body: '  - backend: fast\n    perGiBMonth: cheap\n', want: ['prices.yaml:6:18: prices[0].perGiBMonth: \'cheap\' is not a price: write a number, or "<amount> EUR/GiB-month"'] },
    { name: 'negative', body: '  - backend: fast\n    perGiBMonth: -1\n', want: ['prices.yaml:6:18: prices[0].perGiBMonth: a price must be a number ≥ 0 (found -1)'] },
    { name: 'two selectors', body: '  - backend: fast\n    pool: "x#y"\n    perGiBMonth: 1\n', want: ['prices.yaml:5:5: prices[0]: each price names exactly one of pool, backend or volumeType (found a mapping)'] },
  ])('$name', ({ body, want }) => {
    expect(problemsOf(HEAD + body)).toEqual(want);
  });

  test('bad header fields and an empty list, all at once', () => {
    const got = problemsOf('apiVersion: ballast/v1\nkind: Prices\ncurrency: eur\nprices: []\n');
    expect(got).toHaveLength(3);
    expect(got[0]).toMatch(/^prices.yaml:2:7: kind: /);
    expect(got[1]).toMatch(/^prices.yaml:3:11: currency: currency must be an ISO 4217 code/);
    expect(got[2]).toMatch(/^prices.yaml:4:9: prices: a catalogue needs at least one price/);
  });

  test('YAML syntax errors and an empty file are located too', () => {
    expect(problemsOf('')).toEqual(['prices.yaml:1:1: : the file is empty: expected a price catalogue (apiVersion: ballast/v1, kind: PriceCatalogue)']);
    expect(problemsOf(HEAD + '  - backend: fast\n  perGiBMonth: [\n')[0]).toMatch(/^prices.yaml:\d+:\d+: : /);
  });
});

describe('price catalogue against the fleet', () => {
  test('a pool, back-end or type that matches nothing is a located error with a did-you-mean', () => {
    const body = '  - pool: "ballast@fast#ssd-c"\n    perGiBMonth: 1\n  - backend: fats\n    perGiBMonth: 1\n  - volumeType: nowhere\n    perGiBMonth: 1\n  - pool: "tape@*"\n    perGiBMonth: 1\n';
    expect(problemsOf(HEAD + body, POOLS)).toEqual([
      "prices.yaml:5:11: prices[0].pool: 'ballast@fast#ssd-c' matches no pool of this fleet (did you mean 'ballast@fast#ssd-a'?); known: ballast@fast#ssd-a, ballast@fast#ssd-b, ballast@capacity#hdd-a, ballast@capacity#hdd-b",
      "prices.yaml:7:14: prices[1].backend: 'fats' matches no back-end of this fleet (did you mean 'fast'?); known: fast, ballast@fast, capacity, ballast@capacity",
      "prices.yaml:9:17: prices[2].volumeType: 'nowhere' names volume types no pool of this fleet can serve; known: gold, standard, nowhere",
      "prices.yaml:11:11: prices[3].pool: 'tape@*' matches no pool of this fleet; known: ballast@fast#ssd-a, ballast@fast#ssd-b, ballast@capacity#hdd-a, ballast@capacity#hdd-b",
    ]);
  });

  test('pool beats back-end beats volume type; units are converted; unmatched pools are unpriced', () => {
    const body = '  - volumeType: gold\n    perGiBMonth: 9\n  - backend: capacity\n    perGiBMonth: "30.72 EUR/TiB-month"\n  - pool: "*#hdd-b"\n    perGiBMonth: 0.02\n    perIopsMonth: "0.5 EUR/IOPS-month"\n';
    const prices = resolvePrices(parsePriceCatalogue('prices.yaml', HEAD + body), POOLS, TYPES);
    expect(Object.fromEntries(prices)).toEqual({
      'ballast@capacity#hdd-a': { perGiBMonth: 0.03, perIopsMonth: null, currency: 'EUR', from: 'prices[1]' },
      'ballast@capacity#hdd-b': { perGiBMonth: 0.02, perIopsMonth: 0.5, currency: 'EUR', from: 'prices[2]' },
      'ballast@fast#ssd-a': { perGiBMonth: 9, perIopsMonth: null, currency: 'EUR', from: 'prices[0]' },
    });
  });

  test('the example catalogue (written by ballast init) prices every pool of the init fleet', () => {
    const file = 'policies/prices/prices.example.yaml';
    const prices = resolvePrices(parsePriceCatalogue(file, readFileSync(file, 'utf8')), POOLS, TYPES);
    expect([...prices.keys()].sort()).toEqual(POOLS.map((p) => p.name).sort());
    expect(prices.get('ballast@fast#ssd-a')?.perGiBMonth).toBeCloseTo(0.12, 12);
  });
});
