import { describe, expect, test } from 'vitest';
import { classifyMove, driverCanMove } from '../../src/planner/index.js';
import { pool, TYPES, volume } from './planner-fixtures.js';

const any = TYPES[0]!;
const gold = TYPES[1]!;
const ssdA = pool('ssd-a', 100, 0, { caps: { tier: 'gold' } });
const ssdB = pool('ssd-b', 100, 0);
const ssdOtherDevice = pool('ssd-c', 100, 0, { location: 'raw:ballast@fast:ssd-c:77' });
const hddA = pool('hdd-a', 100, 0, { backend: 'capacity', location: 'chunked:ballast@capacity:hdd-a:4' });
const hddB = pool('hdd-b', 100, 0, { backend: 'capacity', location: 'chunked:ballast@capacity:hdd-b:4' });
const lvm1 = pool('vg1', 100, 0, { backend: 'lvm-1', location: 'LVMVolumeDriver:node1:vg1:default:0' });
const lvm2 = pool('vg2', 100, 0, { backend: 'lvm-2', location: 'LVMVolumeDriver:node1:vg2:default:0' });
const lvmOther = pool('vg3', 100, 0, { backend: 'lvm-3', location: 'LVMVolumeDriver:node2:vg3:default:0' });
const noInfoA = pool('x-a', 100, 0, { backend: 'vendor', location: null });
const noInfoB = pool('x-b', 100, 0, { backend: 'vendor', location: null });
const noInfoOther = pool('y-a', 100, 0, { backend: 'vendor2', location: null });
const encrypted = { id: 't-enc', name: 'enc', extraSpecs: { 'capabilities:tier': 'gold', encrypted: 'true' } };
const plainFast = { id: 't-fast', name: 'fast', extraSpecs: { volume_backend_name: 'fast' } };

describe('move kinds', () => {
  test.each([
    { name: 'raw pools of one back-end and device: driver-assisted (rename)', from: ssdA, to: ssdB, want: 'driver-assisted' },
    { name: 'raw pools on different devices: generic copy', from: ssdA, to: ssdOtherDevice, want: 'generic-copy' },
    { name: 'across drivers (raw to chunked): generic copy', from: ssdA, to: hddA, want: 'generic-copy' },
    { name: 'chunked never moves by itself: generic copy', from: hddA, to: hddB, want: 'generic-copy' },
    { name: 'LVM, same host, other VG: driver-assisted', from: lvm1, to: lvm2, want: 'driver-assisted' },
    { name: 'LVM on another host: generic copy', from: lvm1, to: lvmOther, want: 'generic-copy' },
    { name: 'no location_info, same back-end: driver-assisted', from: noInfoA, to: noInfoB, want: 'driver-assisted' },
    { name: 'no location_info, other back-end: generic copy', from: noInfoA, to: noInfoOther, want: 'generic-copy' },
    { name: 'attached volume: live copy even where the driver could', from: ssdA, to: ssdB, attached: true, want: 'live-copy' },
    { name: 'forceHostCopy: generic copy even where the driver could', from: ssdA, to: ssdB, force: true, want: 'generic-copy' },
    { name: 'retype, pool stays and supports the new type: retype in place', from: ssdA, to: ssdA, newType: gold, want: 'retype-in-place' },
    { name: 'retype, pool stays but lacks the capability: refused', from: ssdB, to: ssdB, newType: gold, want: 'refused' },
    { name: 'retype with migration, only back-end name in the types: driver-assisted', from: ssdA, to: ssdB, newType: plainFast, want: 'driver-assisted' },
    { name: 'retype with migration, other extra specs: generic copy (Cinder _can_use_driver_migration)', from: ssdA, to: ssdB, newType: encrypted, want: 'generic-copy' },
    { name: 'neither pool nor type changes: refused', from: ssdA, to: ssdA, want: 'refused' },
  ])('$name', ({ from, to, attached, force, newType, want }) => {
    const v = volume('v1', from.name, 10, { attached: attached ?? false });
    const c = classifyMove(v, from, to, { forceHostCopy: force ?? false, oldType: any, newType: newType ?? null });
    expect(c.ok ? c.kind : 'refused').toBe(want);
  });

  test('driverCanMove is symmetric for the families it knows', () => {
    for (const [a, b] of [
      [ssdA, ssdB],
      [lvm1, lvm2],
      [hddA, hddB],
      [ssdA, hddA],
    ] as const) {
      expect(driverCanMove(a, b)).toBe(driverCanMove(b, a));
    }
  });
});
