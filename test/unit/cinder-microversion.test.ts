// Microversion negotiation with Cinder: the version document's v3 entry, then
// min(server max, wanted) ≥ max(server min, 3.0).
import { describe, expect, test } from 'vitest';
import { negotiateMicroversion, parseMicroversion, serverVersions, versionDocumentUrl, formatMicroversion } from '../../src/controlplane/index.js';
import { isAppError } from '../../src/shared/index.js';

// The document real Cinder 21 answers at GET / (HTTP 300).
const CINDER_21 = {
  versions: [{ id: 'v3.0', status: 'CURRENT', version: '3.70', min_version: '3.0', updated: '2022-08-31T00:00:00Z', links: [] }],
};

describe('microversions', () => {
  test.each([
    ['Cinder 21 (3.0–3.70), want 3.65', CINDER_21, '3.65', '3.65'],
    ['older Cinder (3.0–3.59)', { versions: [{ id: 'v3.0', version: '3.59', min_version: '3.0' }] }, '3.65', '3.59'],
    ['user cap 3.50', CINDER_21, '3.50', '3.50'],
    ['no microversions (empty version)', { versions: [{ id: 'v3.0', version: '', min_version: '' }] }, '3.65', '3.0'],
    ['v2 listed too', { versions: [{ id: 'v2.0', version: '' }, { id: 'v3.0', version: '3.27', min_version: '3.0' }] }, '3.65', '3.27'],
    ['single-version document', { version: { id: 'v3.0', version: '3.70', min_version: '3.0' } }, '3.65', '3.65'],
  ])('%s → %s', (_n, doc, want, expected) => {
    expect(formatMicroversion(negotiateMicroversion(serverVersions(doc), parseMicroversion(want)!))).toBe(expected);
  });

  test.each([
    ['server min above what we want', { versions: [{ id: 'v3.0', version: '3.90', min_version: '3.80' }] }, /no common microversion: Cinder supports 3.80–3.90/],
    ['no v3 at all', { versions: [{ id: 'v2.0', version: '' }] }, /offers no v3 API \(versions: v2.0\)/],
    ['not a document', 'nonsense', /no v3 API/],
  ])('%s → CINDER_MICROVERSION_UNSUPPORTED', (_n, doc, msg) => {
    let err: unknown = null;
    try {
      negotiateMicroversion(serverVersions(doc));
    } catch (e) {
      err = e;
    }
    expect(isAppError(err) && err.code).toBe('CINDER_MICROVERSION_UNSUPPORTED');
    expect((err as Error).message).toMatch(msg);
  });

  test.each([
    ['3.59', { major: 3, minor: 59 }],
    ['v3.0', { major: 3, minor: 0 }],
    ['3', null],
    [42, null],
  ] as const)('parse %s', (s, want) => {
    expect(parseMicroversion(s)).toEqual(want);
  });

  test.each([
    ['http://127.0.0.1:8776/v3/0123abc', 'http://127.0.0.1:8776/'],
    ['https://cloud.example.com/volume/v3/p1', 'https://cloud.example.com/volume/'],
    ['https://cloud.example.com:8776/v3', 'https://cloud.example.com:8776/'],
  ])('version document of %s is %s', (endpoint, want) => {
    expect(versionDocumentUrl(endpoint)).toBe(want);
  });
});
