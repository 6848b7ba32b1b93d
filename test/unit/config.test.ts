import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BackendSpec, PoolSpec } from '../../src/blockstore/index.js';
import {
  backendSchema,
  configSchema,
  copySchema,
  loadConfig,
  poolSchema,
  volumeTypeSchema,
  parseRateBytesPerSec,
  parseSizeGiB,
  renderInitConfig,
  resolveConfigPath,
  writeInitConfig,
  type LoadedConfig,
} from '../../src/config/index.js';
import { AppError, FileValidationError, formatLocation, type FileProblem } from '../../src/shared/index.js';

let root: string;
let seq = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ballast-config-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes `text` to a fresh `<tmp>/<n>/ballast.yaml` and returns its path. */
async function writeConfig(text: string): Promise<string> {
  const dir = join(root, String(++seq));
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'ballast.yaml');
  await writeFile(file, text);
  return file;
}

/** Loads `text` from a real file, expecting CONFIG_INVALID; returns the file and its problems. */
async function problemsOf(text: string): Promise<{ file: string; problems: readonly FileProblem[]; error: FileValidationError }> {
  const file = await writeConfig(text);
  const error = await loadConfig(file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FileValidationError);
  const fve = error as FileValidationError;
  expect(fve.code).toBe('CONFIG_INVALID');
  return { file, problems: fve.problems, error: fve };
}

// A small valid configuration; broken configs below replace (1-based) lines of it.
const BASE = [
  /*  1 */ 'apiVersion: ballast/v1',
  /*  2 */ 'backends:',
  /*  3 */ '  - name: fast',
  /*  4 */ '    driver: raw',
  /*  5 */ '    pools:',
  /*  6 */ '      - name: ssd-a',
  /*  7 */ '        size: 100GiB',
  /*  8 */ '        reservedPercentage: 0',
  /*  9 */ 'volumeTypes:',
  /* 10 */ '  - name: gold',
  /* 11 */ '    extraSpecs:',
  /* 12 */ '      volume_backend_name: fast',
  /* 13 */ 'defaultVolumeType: gold',
];

function edit(replace: Readonly<Record<number, string>>): string {
  return `${BASE.map((line, i) => replace[i + 1] ?? line).join('\n')}\n`;
}

describe('ballast init', () => {
  test('the rendered config loads cleanly into the expected back-ends, types and paths', async () => {
    const dir = join(root, 'init-a');
    const file = await writeInitConfig(dir);
    expect(file).toBe(join(dir, 'ballast.yaml'));
    const cfg = await loadConfig(file);
    const data = join(dir, 'data');
    const pool = (name: string, sizeGiB: number, extra: Partial<PoolSpec>, backend: string): PoolSpec => ({
      name,
      sizeGiB,
      provisioning: 'thin' as const,
      maxOverSubscriptionRatio: 20,
      reservedPercentage: 0,
      availabilityZone: 'nova',
      capabilities: {},
      dataPath: join(data, backend, name),
      ...extra,
    });
    const expected: BackendSpec[] = [
      {
        name: 'fast',
        host: 'ballast',
        driver: 'raw',
        volumeBackendName: 'fast',
        options: {},
        pools: [
          pool('ssd-a', 100, { capabilities: { tier: 'gold' } }, 'fast'),
          pool('ssd-b', 100, { capabilities: { tier: 'gold' } }, 'fast'),
        ],
      },
      {
        name: 'capacity',
        host: 'ballast',
        driver: 'chunked',
        volumeBackendName: 'capacity',
        options: {},
        pools: [pool('hdd-a', 200, { reservedPercentage: 5 }, 'capacity'), pool('hdd-b', 200, { provisioning: 'thick' }, 'capacity')],
      },
    ];
    expect(cfg.backends).toEqual(expected);
    expect(cfg).toMatchObject({
      configFile: file,
      dataDir: data,
      stateDbPath: join(data, 'state.db'),
      host: 'ballast',
      copy: { bufferBytes: 4 * 1024 * 1024, bpsLimit: 0 },
      defaultVolumeType: 'standard',
      warnings: [],
    });
    expect(cfg.volumeTypes).toEqual([
      { name: 'gold', description: 'Fast SSD-backed volumes.', extraSpecs: { volume_backend_name: 'fast' } },
      { name: 'standard', description: 'General-purpose HDD-backed volumes.', extraSpecs: { volume_backend_name: 'capacity' } },
    ]);
    expect(Object.isFrozen(cfg.backends[0]?.pools[0]?.capabilities)).toBe(true);
  });

  test('the rendered config comments every key it sets', () => {
    const lines = renderInitConfig().split('\n');
    expect(lines[0]).toMatch(/^# /);
    // Every top-level key is preceded by a comment line.
    lines.forEach((line, i) => {
      if (/^[a-zA-Z]+:/.test(line)) expect(lines[i - 1], `comment above '${line}'`).toMatch(/^#/);
    });
    for (const key of ['size', 'provisioning', 'maxOverSubscriptionRatio', 'reservedPercentage', 'availabilityZone', 'capabilities', 'path', 'bufferMiB', 'bpsLimit']) {
      const i = lines.findIndex((l) => new RegExp(`^\\s*(# )?${key}:`).test(l));
      expect(i, key).toBeGreaterThan(0);
      expect(lines[i - 1], `comment above ${key}`).toMatch(/^\s*#/);
    }
  });

  test('refuses to overwrite an existing file unless forced', async () => {
    const dir = join(root, 'init-b');
    const file = await writeInitConfig(dir);
    await writeFile(file, '# mine\n');
    const err = await writeInitConfig(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('INVALID_INPUT');
    expect((err as AppError).message).toContain('already exists');
    expect(await readFile(file, 'utf8')).toBe('# mine\n');
    await expect(writeInitConfig(dir, { force: true })).resolves.toBe(file);
    expect(await readFile(file, 'utf8')).toBe(renderInitConfig());
  });

  test('refuses a directory that is a file', async () => {
    const notDir = join(root, 'init-c');
    await writeFile(notDir, 'x');
    await expect(writeInitConfig(notDir)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});

describe('loadConfig: broken configurations', () => {
  const cases: readonly { name: string; text: string; at: string; msg: string; path?: string; count?: number }[] = [
    {
      name: "typo'd key with did-you-mean",
      text: edit({ 8: '        reservedPercentge: 5' }),
      at: '8:9',
      msg: "unknown key 'reservedPercentge' (did you mean 'reservedPercentage'?)",
      path: 'backends[0].pools[0].reservedPercentge',
    },
    {
      name: 'wrong type',
      text: edit({ 8: '        reservedPercentage: five' }),
      at: '8:29',
      msg: "expected number, found 'five'",
      path: 'backends[0].pools[0].reservedPercentage',
    },
    { name: 'bad size unit', text: edit({ 7: '        size: 100GB' }), at: '7:15', msg: "unknown size unit 'GB': expected GiB or TiB" },
    { name: 'decimal size unit hint', text: edit({ 7: '        size: 1T' }), at: '7:15', msg: 'write TiB' },
    { name: 'size 0', text: edit({ 7: '        size: 0' }), at: '7:15', msg: 'size must be at least 1 GiB (found 0)' },
    { name: 'size not whole GiB', text: edit({ 7: '        size: 1536MiB' }), at: '7:15', msg: 'whole number of GiB' },
    { name: 'size of the wrong type', text: edit({ 7: '        size: true' }), at: '7:15', msg: 'expected a size such as 100GiB' },
    { name: 'size missing', text: edit({ 7: '        provisioning: thin' }), at: '6:9', msg: 'required: expected a size', path: 'backends[0].pools[0].size' },
    {
      name: 'negative reserved',
      text: edit({ 8: '        reservedPercentage: -5' }),
      at: '8:29',
      msg: 'reservedPercentage must be a whole number from 0 to 100 (found -5)',
    },
    { name: 'reserved 101', text: edit({ 8: '        reservedPercentage: 101' }), at: '8:29', msg: 'from 0 to 100 (found 101)' },
    {
      name: 'mosr 0.5',
      text: edit({ 8: '        maxOverSubscriptionRatio: 0.5' }),
      at: '8:35',
      msg: "maxOverSubscriptionRatio must be 'auto' or a number ≥ 1",
    },
    {
      name: 'provisioning typo',
      text: edit({ 8: '        provisioning: thickk' }),
      at: '8:23',
      msg: "expected one of 'thin', 'thick', found 'thickk' (did you mean 'thick'?)",
    },
    { name: 'unknown driver', text: edit({ 4: '    driver: rwa' }), at: '4:13', msg: "unknown driver 'rwa' (did you mean 'raw'?); available: raw, chunked" },
    {
      name: 'duplicate pool',
      text: edit({ 8: '        reservedPercentage: 0\n      - name: ssd-a\n        size: 1TiB' }),
      at: '9:15',
      msg: "duplicate pool name 'ssd-a' (first defined on line 6)",
      path: 'backends[0].pools[1].name',
    },
    {
      name: 'duplicate back-end',
      text: edit({ 8: '        reservedPercentage: 0\n  - name: fast\n    driver: chunked\n    pools:\n      - { name: hdd-a, size: 200 }' }),
      at: '9:11',
      msg: "duplicate back-end name 'fast' (first defined on line 3)",
    },
    {
      name: 'duplicate volume type',
      text: edit({ 12: '      volume_backend_name: fast\n  - name: gold' }),
      at: '13:11',
      msg: "duplicate volume type name 'gold' (first defined on line 10)",
    },
    { name: 'YAML syntax error', text: edit({ 4: '    driver: raw: x' }), at: '4:13', msg: 'Nested mappings are not allowed' },
    { name: 'duplicate YAML key', text: edit({ 8: '        size: 200GiB' }), at: '8:9', msg: 'duplicate key' },
    { name: 'empty file', text: '', at: '1:1', msg: 'the file has no settings' },
    { name: 'only comments', text: '# nothing yet\n', at: '1:1', msg: "run 'ballast init DIR'" },
    { name: 'not a mapping', text: '- apiVersion: ballast/v1\n', at: '1:1', msg: 'expected object, found a list' },
    {
      name: 'defaultVolumeType typo',
      text: edit({ 13: 'defaultVolumeType: gld' }),
      at: '13:20',
      msg: "defaultVolumeType 'gld' names no volume type (did you mean 'gold'?); defined types: gold",
    },
    { name: 'missing apiVersion', text: edit({ 1: 'dataDir: ./d' }), at: '1:1', msg: "expected one of 'ballast/v1', found nothing", path: 'apiVersion' },
    { name: 'bad host name', text: edit({ 13: 'defaultVolumeType: gold\nhost: "my host"' }), at: '14:7', msg: 'host must start with a letter or digit' },
    {
      name: 'decimal rate unit',
      text: edit({ 13: 'defaultVolumeType: gold\ncopy: { bpsLimit: 200MB/s }' }),
      at: '14:19',
      msg: "unknown rate unit 'MB': expected B/s, KiB/s, MiB/s or GiB/s; write MiB/s",
    },
    {
      name: 'capability shadowing a reported one',
      text: edit({ 8: '        capabilities: { pool_name: x }' }),
      at: '8:25',
      msg: "capability 'pool_name' is reported by Ballast itself",
    },
    { name: 'extra spec that is not a string', text: edit({ 12: '      volume_backend_name: 7' }), at: '12:28', msg: 'quote numbers and booleans' },
    { name: 'back-end without pools', text: edit({ 5: '    pools: []', 6: '', 7: '', 8: '' }), at: '5:12', msg: 'a back-end needs at least one pool' },
    {
      name: 'two pools sharing a data directory',
      text: edit({ 8: '        path: ./shared\n      - name: ssd-b\n        size: 1\n        path: ./shared' }),
      at: '11:15',
      msg: 'overlaps that of pool fast#ssd-a',
    },
    {
      name: 'state database inside a pool directory',
      text: edit({ 1: 'apiVersion: ballast/v1\nstateDb: fast/ssd-a/state.db' }),
      at: '7:9',
      msg: 'and this pool\'s data directory',
    },
    {
      name: 'top-level key typo (and the default type then names nothing)',
      text: edit({ 9: 'volumeType:' }),
      at: '9:1',
      msg: "unknown key 'volumeType' (did you mean 'volumeTypes'?)",
      count: 2,
    },
  ];

  test.each(cases)('$name', async ({ text, at, msg, path, count }) => {
    const { file, problems } = await problemsOf(text);
    const hit = problems.find((p) => p.message.includes(msg));
    expect(hit, `no problem mentions "${msg}"; got:\n${problems.map((p) => `${formatLocation(p.location)} ${p.message}`).join('\n')}`).toBeDefined();
    expect(formatLocation(hit!.location)).toBe(`${file}:${at}`);
    if (path !== undefined) expect(hit!.path).toBe(path);
    expect(problems).toHaveLength(count ?? 1);
  });

  test('reports every problem at once, in file order, in one error', async () => {
    const text = [
      'apiVersion: ballast/v1',
      'backends:',
      '  - name: fast',
      '    driver: rwa',
      '    pools:',
      '      - name: ssd-a',
      '        size: 100GB',
      '        reservedPercentge: 5',
      'volumeTypes:',
      '  - name: gold',
      '  - name: gold',
      'defaultVolumeType: golden',
      '',
    ].join('\n');
    const { file, problems, error } = await problemsOf(text);
    expect(problems.map((p) => `${formatLocation(p.location)} ${p.path}`)).toEqual([
      `${file}:4:13 backends[0].driver`,
      `${file}:7:15 backends[0].pools[0].size`,
      `${file}:8:9 backends[0].pools[0].reservedPercentge`,
      `${file}:11:11 volumeTypes[1].name`,
      `${file}:12:20 defaultVolumeType`,
    ]);
    expect(error.message.split('\n')[0]).toBe(`${file}: 5 problems`);
    expect(error.message).toContain(`${file}:8:9: backends[0].pools[0].reservedPercentge: unknown key 'reservedPercentge'`);
    expect(error.exitCode).toBe(2);
  });

  test('checks drivers against the names passed in', async () => {
    const file = await writeConfig(edit({ 4: '    driver: chunked' }));
    await expect(loadConfig(file, { driverNames: ['raw'] })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      problems: [expect.objectContaining({ message: "unknown driver 'chunked'; available: raw" })],
    });
    await expect(loadConfig(file, { driverNames: ['raw', 'chunked'] })).resolves.toBeDefined();
  });
});

describe('loadConfig: files', () => {
  test('a missing file is CONFIG_NOT_FOUND and says how to create one', async () => {
    const file = join(root, 'nowhere', 'ballast.yaml');
    const err = await loadConfig(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).not.toBeInstanceOf(FileValidationError);
    expect((err as AppError).code).toBe('CONFIG_NOT_FOUND');
    expect((err as AppError).message).toContain(file);
    expect((err as AppError).message).toContain('ballast init DIR');
  });

  test('a directory is CONFIG_NOT_FOUND pointing at the file inside it', async () => {
    const err = await loadConfig(root).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('CONFIG_NOT_FOUND');
    expect((err as AppError).message).toContain(join(root, 'ballast.yaml'));
  });

  test('relative paths resolve against the file (dataDir, pool path) and dataDir (stateDb)', async () => {
    const file = await writeConfig(
      edit({
        1: 'apiVersion: ballast/v1\ndataDir: ../var\nstateDb: db/ballast.db\nhost: node-1',
        8: '        path: ./pools/a\n      - name: ssd-b\n        size: 1\n        path: /srv/b',
      }),
    );
    const dir = join(file, '..');
    const cfg: LoadedConfig = await loadConfig(file);
    expect(cfg.dataDir).toBe(join(dir, '..', 'var'));
    expect(cfg.stateDbPath).toBe(join(dir, '..', 'var', 'db', 'ballast.db'));
    expect(cfg.backends[0]?.host).toBe('node-1');
    expect(cfg.backends[0]?.pools.map((p) => p.dataPath)).toEqual([join(dir, 'pools', 'a'), '/srv/b']);
  });

  test('defaults: volumeBackendName, provisioning, ratio, zone, copy, stateDb, no default type', async () => {
    const file = await writeConfig('apiVersion: ballast/v1\nbackends:\n  - { name: b1, driver: raw, pools: [{ name: p1, size: 1 }] }\n');
    const cfg = await loadConfig(file);
    expect(cfg.backends[0]).toMatchObject({ volumeBackendName: 'b1', options: {} });
    expect(cfg.backends[0]?.pools[0]).toMatchObject({
      sizeGiB: 1,
      provisioning: 'thin',
      maxOverSubscriptionRatio: 20,
      reservedPercentage: 0,
      availabilityZone: 'nova',
      capabilities: {},
    });
    expect(cfg.copy).toEqual({ bufferBytes: 4 * 1024 * 1024, bpsLimit: 0 });
    expect(cfg.stateDbPath).toBe(join(file, '..', 'data', 'state.db'));
    expect(cfg.volumeTypes).toEqual([]);
    expect(cfg.defaultVolumeType).toBeNull();
  });

  test("accepts 'auto' and Cinder-style string ratios, and copy rates with units", async () => {
    const file = await writeConfig(
      edit({
        8: '        maxOverSubscriptionRatio: auto\n      - { name: ssd-b, size: 1, maxOverSubscriptionRatio: "1.5" }',
        13: 'defaultVolumeType: gold\ncopy: { bufferMiB: 8, bpsLimit: 200MiB/s }',
      }),
    );
    const cfg = await loadConfig(file);
    expect(cfg.backends[0]?.pools.map((p) => p.maxOverSubscriptionRatio)).toEqual(['auto', 1.5]);
    expect(cfg.copy).toEqual({ bufferBytes: 8 * 1024 * 1024, bpsLimit: 200 * 1024 * 1024 });
  });
});

describe('loadConfig: warnings for types no pool can serve', () => {
  const cases: readonly { name: string; specs: string; at: string | null; msg?: string }[] = [
    { name: 'matching type', specs: '      volume_backend_name: fast', at: null },
    {
      name: 'volume_backend_name typo',
      specs: '      volume_backend_name: fsat',
      at: '12:28',
      msg: "volume type 'gold' can be placed on no pool: volume_backend_name 'fsat' names no back-end (did you mean 'fast'?)",
    },
    {
      name: 'capability no pool has',
      specs: '      "capabilities:tier": platinum',
      at: '12:7',
      msg: `volume type 'gold' can be placed on no pool (e.g. ballast@fast#ssd-a: capability 'tier'="gold" does not match`,
    },
    { name: 'capability only a running driver reports', specs: '      multiattach: "<is> True"', at: null },
    {
      name: 'thin support on a thin pool',
      specs: '      "capabilities:thin_provisioning_support": "<is> True"',
      at: null,
    },
    {
      name: 'thick support on a thin pool',
      specs: '      thick_provisioning_support: "<is> True"',
      at: '12:7',
      msg: "capability 'thick_provisioning_support'=false does not match",
    },
    { name: 'scoped keys are not capabilities', specs: '      "provisioning:type": thick', at: null },
    { name: 'numeric operator on a configured value', specs: '      total_capacity_gb: ">= 50"', at: null },
  ];

  test.each(cases)('$name', async ({ specs, at, msg }) => {
    const file = await writeConfig(edit({ 8: '        capabilities: { tier: gold }', 12: specs }));
    const cfg = await loadConfig(file);
    if (at === null) {
      expect(cfg.warnings).toEqual([]);
      return;
    }
    expect(cfg.warnings).toHaveLength(1);
    expect(formatLocation(cfg.warnings[0]!.location)).toBe(`${file}:${at}`);
    expect(cfg.warnings[0]!.message).toContain(msg);
  });
});

describe('schema', () => {
  test.each([
    ['config', configSchema],
    ['copy', copySchema],
    ['backend', backendSchema],
    ['pool', poolSchema],
    ['volume type', volumeTypeSchema],
  ] as const)('every field of the %s object is described', (_name, schema) => {
    for (const [key, field] of Object.entries(schema.shape)) expect(field.description, key).toBeTruthy();
  });
});

describe('units', () => {
  test.each([
    [100, 100],
    ['100GiB', 100],
    ['100 GiB', 100],
    ['100gib', 100],
    ['100', 100],
    ['1TiB', 1024],
    ['1.5TiB', 1536],
    ['2048MiB', 2],
    ['1PiB', 1024 * 1024],
  ] as const)('size %j = %d GiB', (input, gib) => {
    expect(parseSizeGiB(input)).toEqual({ ok: true, value: gib });
  });

  test.each([
    ['512MiB', 'whole number of GiB'],
    [1.5, 'whole number of GiB'],
    [0, 'at least 1 GiB'],
    [-1, 'at least 1 GiB'],
    ['100GB', "unknown size unit 'GB': expected GiB or TiB (also MiB, PiB); write GiB"],
    ['100 G', 'write GiB'],
    ['lots', 'e.g. 100GiB'],
    ['2PiB', 'at most'],
  ] as const)('size %j is refused (%s)', (input, msg) => {
    const r = parseSizeGiB(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(msg);
  });

  test.each([
    [0, 0],
    ['0', 0],
    [1000, 1000],
    ['1000B/s', 1000],
    ['512KiB/s', 512 * 1024],
    ['200MiB/s', 200 * 1024 * 1024],
    ['200 MiB/s', 200 * 1024 * 1024],
    ['1GiB', 1024 ** 3],
  ] as const)('rate %j = %d B/s', (input, bps) => {
    expect(parseRateBytesPerSec(input)).toEqual({ ok: true, value: bps });
  });

  test.each([
    ['200MB/s', 'write MiB/s'],
    [-1, 'positive number'],
    ['fast', 'such as 200MiB/s'],
  ] as const)('rate %j is refused (%s)', (input, msg) => {
    const r = parseRateBytesPerSec(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(msg);
  });
});

describe('resolveConfigPath', () => {
  test.each([
    { name: 'flag wins', flag: '/etc/b.yaml', env: { BALLAST_CONFIG: '/x.yaml' }, want: '/etc/b.yaml' },
    { name: 'then BALLAST_CONFIG', flag: undefined, env: { BALLAST_CONFIG: '/x.yaml' }, want: '/x.yaml' },
    { name: 'empty values are unset', flag: '', env: { BALLAST_CONFIG: '' }, want: './ballast.yaml' },
    { name: 'then ./ballast.yaml', flag: undefined, env: {}, want: './ballast.yaml' },
  ])('$name', ({ flag, env, want }) => {
    expect(resolveConfigPath(flag, env)).toBe(want);
  });
});
