import { describe, expect, test } from 'vitest';
import { nextClosing, nextOpening, windowOpen } from '../../src/executor/index.js';
import type { CompiledWindow } from '../../src/policy/index.js';
import { mulberry32 } from '../../src/shared/index.js';

// The jumping search against the obvious minute-by-minute scan, over random windows and instants,
// in zones with and without daylight saving (the March and October changes are inside the range).
const MIN = 60_000;
function bruteOpening(at: number, ws: readonly CompiledWindow[]): number | null {
  if (windowOpen(at, ws)) return at;
  for (let t = Math.floor(at / MIN) * MIN + MIN; t <= at + 8 * 1440 * MIN; t += MIN) if (windowOpen(t, ws)) return t;
  return null;
}
function bruteClosing(at: number, ws: readonly CompiledWindow[]): number | null {
  if (ws.length === 0) return null;
  if (!windowOpen(at, ws)) return at;
  for (let t = Math.floor(at / MIN) * MIN + MIN; t <= at + 8 * 1440 * MIN; t += MIN) if (!windowOpen(t, ws)) return t;
  return null;
}

const rng = mulberry32;

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Adelaide'];

describe('maintenance window search', () => {
  test('matches a minute-by-minute scan on 300 random cases (overnight windows, DST changes, several windows)', () => {
    const r = rng(7);
    const base = Date.UTC(2026, 2, 20); // late March: Europe and (earlier) the US change clocks around here
    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(r() * 2);
      const ws: CompiledWindow[] = [];
      for (let k = 0; k < n; k++) {
        const days = DAYS.filter(() => r() < 0.4);
        ws.push({
          days: days.length > 0 ? days : ['sat'],
          startMinute: Math.floor(r() * 1440),
          endMinute: 1 + Math.floor(r() * 1440),
          timeZone: ZONES[Math.floor(r() * ZONES.length)]!,
        });
      }
      const at = base + Math.floor(r() * 230 * 86_400_000); // through late October too
      expect(nextOpening(at, ws), JSON.stringify({ at, ws })).toBe(bruteOpening(at, ws));
      expect(nextClosing(at, ws), JSON.stringify({ at, ws })).toBe(bruteClosing(at, ws));
    }
  });

  test('a window list with no opening in eight days gives null', () => {
    const at = Date.UTC(2026, 0, 5, 12);
    expect(nextOpening(at, [{ days: [], startMinute: 60, endMinute: 120, timeZone: 'UTC' }])).toBeNull();
  });
});
