import { describe, expect, test } from 'vitest';
import { matchesGlob } from '../../src/policy/globs.js';
import {
  formatClock,
  formatDurationMs,
  formatSize,
  parseClock,
  parseDuration,
  parsePercent,
  parseRate,
  parseSize,
  type QuantityResult,
} from '../../src/policy/quantities.js';

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;
const MiB = 1024 ** 2;

type Row = { name: string; parse: (v: unknown) => QuantityResult; input: unknown; want: number | { error: string } };

const rows: Row[] = [
  // sizes
  { name: 'size GiB', parse: parseSize, input: '500GiB', want: 500 * GiB },
  { name: 'size TiB', parse: parseSize, input: '2TiB', want: 2 * TiB },
  { name: 'size with a space', parse: parseSize, input: '2 TiB', want: 2 * TiB },
  { name: 'size fractional', parse: parseSize, input: '1.5GiB', want: 1.5 * GiB },
  { name: 'size bytes', parse: parseSize, input: '512B', want: 512 },
  { name: 'size zero', parse: parseSize, input: '0GiB', want: 0 },
  { name: 'size decimal TB hints TiB', parse: parseSize, input: '2TB', want: { error: "'TB' is a decimal unit; Ballast sizes are binary, did you mean '2TiB'?" } },
  { name: 'size decimal GB hints GiB', parse: parseSize, input: '500GB', want: { error: "did you mean '500GiB'?" } },
  { name: 'size lower-case unit', parse: parseSize, input: '500gib', want: { error: "did you mean '500GiB'?" } },
  { name: 'size bare number', parse: parseSize, input: 500, want: { error: "found 500 (add a unit: '500GiB'?)" } },
  { name: 'size no number', parse: parseSize, input: 'GiB', want: { error: "found 'GiB'" } },
  { name: 'size too large', parse: parseSize, input: '9PiB', want: { error: 'too large' } },
  { name: 'size negative', parse: parseSize, input: '-1GiB', want: { error: "expected a binary size such as '500GiB'" } },
  { name: 'size leading zero', parse: parseSize, input: '01GiB', want: { error: "found '01GiB'" } },
  { name: 'size list', parse: parseSize, input: ['1GiB'], want: { error: 'found a list' } },
  // percentages
  { name: 'percent', parse: parsePercent, input: '85%', want: 85 },
  { name: 'percent fractional', parse: parsePercent, input: '12.5%', want: 12.5 },
  { name: 'percent 0', parse: parsePercent, input: '0%', want: 0 },
  { name: 'percent 100', parse: parsePercent, input: '100%', want: 100 },
  { name: 'percent over 100', parse: parsePercent, input: '101%', want: { error: 'from 0% to 100%' } },
  { name: 'percent bare number', parse: parsePercent, input: 85, want: { error: "found 85 (write '85%')" } },
  { name: 'percent ratio', parse: parsePercent, input: 0.85, want: { error: "write '85%'" } },
  { name: 'percent as text', parse: parsePercent, input: '85 percent', want: { error: "did you mean '85%'?" } },
  // durations
  { name: 'duration minutes', parse: parseDuration, input: '15m', want: 15 * 60_000 },
  { name: 'duration hours', parse: parseDuration, input: '2h', want: 2 * 3_600_000 },
  { name: 'duration compound', parse: parseDuration, input: '1h30m', want: 90 * 60_000 },
  { name: 'duration ms', parse: parseDuration, input: '500ms', want: 500 },
  { name: 'duration days', parse: parseDuration, input: '7d', want: 7 * 86_400_000 },
  { name: 'duration fractional', parse: parseDuration, input: '1.5h', want: 90 * 60_000 },
  { name: 'duration bare number', parse: parseDuration, input: 30, want: { error: "add a unit: '30m'?" } },
  { name: 'duration long unit', parse: parseDuration, input: '15 minutes', want: { error: "did you mean '15m'?" } },
  { name: 'duration min', parse: parseDuration, input: '5min', want: { error: "did you mean '5m'?" } },
  { name: 'duration ISO', parse: parseDuration, input: 'PT15M', want: { error: "expected a duration such as '15m'" } },
  // rates
  { name: 'rate MiB/s', parse: parseRate, input: '200MiB/s', want: 200 * MiB },
  { name: 'rate GiB/s', parse: parseRate, input: '1GiB/s', want: GiB },
  { name: 'rate decimal', parse: parseRate, input: '200MB/s', want: { error: "did you mean '200MiB/s'?" } },
  { name: 'rate bits', parse: parseRate, input: '1Gbps', want: { error: 'not bits' } },
  { name: 'rate bits per second', parse: parseRate, input: '100Mb/s', want: { error: 'not bits' } },
  { name: 'rate without /s', parse: parseRate, input: '200MiB', want: { error: "did you mean '200MiB/s'?" } },
  { name: 'rate bare number', parse: parseRate, input: 200, want: { error: "add a unit: '200MiB/s'?" } },
  // times of day
  { name: 'clock', parse: parseClock, input: '01:30', want: 90 },
  { name: 'clock midnight', parse: parseClock, input: '00:00', want: 0 },
  { name: 'clock end of day', parse: parseClock, input: '24:00', want: 1440 },
  { name: 'clock one digit hour', parse: parseClock, input: '1:00', want: { error: "did you mean '01:00'?" } },
  { name: 'clock hour only', parse: parseClock, input: '7', want: { error: "did you mean '07:00'?" } },
  { name: 'clock 25h', parse: parseClock, input: '25:00', want: { error: "expected a time of day 'HH:MM'" } },
  { name: 'clock number', parse: parseClock, input: 100, want: { error: 'quote it' } },
];

describe('quantities', () => {
  test.each(rows)('$name', ({ parse, input, want }) => {
    const got = parse(input);
    if (typeof want === 'number') {
      expect(got).toEqual({ ok: true, value: want });
    } else {
      expect(got.ok).toBe(false);
      if (!got.ok) expect(got.message).toContain(want.error);
    }
  });

  test.each([
    { bytes: 2 * TiB, want: '2TiB' },
    { bytes: 500 * GiB, want: '500GiB' },
    { bytes: 1.5 * GiB, want: '1.5GiB' },
    { bytes: 100, want: '100B' },
  ])('formatSize($bytes) = $want', ({ bytes, want }) => expect(formatSize(bytes)).toBe(want));

  test.each([
    { ms: 90 * 60_000, want: '1h30m' },
    { ms: 500, want: '500ms' },
    { ms: 0, want: '0ms' },
    { ms: 86_400_000 + 1000, want: '1d1s' },
  ])('formatDurationMs($ms) = $want', ({ ms, want }) => expect(formatDurationMs(ms)).toBe(want));

  test('formatClock', () => expect([formatClock(0), formatClock(90), formatClock(1440)]).toEqual(['00:00', '01:30', '24:00']));
});

describe('globs', () => {
  test.each([
    { pattern: 'ballast@fast#*', name: 'ballast@fast#ssd-a', want: true },
    { pattern: 'ballast@fast#*', name: 'ballast@capacity#hdd-a', want: false },
    { pattern: '*#ssd-?', name: 'ballast@fast#ssd-b', want: true },
    { pattern: '*#ssd-?', name: 'ballast@fast#ssd-bb', want: false },
    { pattern: 'db-*', name: 'db-', want: true },
    { pattern: 'exact', name: 'exact', want: true },
    { pattern: 'exact', name: 'exactly', want: false },
    { pattern: '*', name: '', want: true },
    { pattern: 'a.b', name: 'axb', want: false },
  ])('$pattern ~ $name = $want', ({ pattern, name, want }) => expect(matchesGlob(pattern, name)).toBe(want));

  test('a pathological pattern stays fast', () => {
    const pattern = `${'*a'.repeat(30)}b`;
    const name = 'a'.repeat(5000);
    const t0 = performance.now();
    expect(matchesGlob(pattern, name)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
