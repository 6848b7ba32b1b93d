/**
 * Cross-field rules of `ballast.yaml` that a per-field schema cannot express: duplicates, names
 * that must refer to something, drivers, overlapping data directories, host-string limits, and
 * volume types that no pool can serve (a warning).
 *
 * @module
 */
import { sep } from 'node:path';
import type { BackendSpec } from '../blockstore/index.js';
import { capabilitiesMatch, parseHost } from '../model/index.js';
import { formatPath, suggest, type FileProblem, type YamlSource } from '../shared/index.js';

type Path = readonly (string | number)[];

/**
 * Capability keys the service or the driver reports for every pool (get_pools); a pool's
 * `capabilities` may not set them.
 */
export const REPORTED_CAPABILITY_KEYS: ReadonlySet<string> = new Set([
  'pool_name',
  'total_capacity_gb',
  'free_capacity_gb',
  'allocated_capacity_gb',
  'provisioned_capacity_gb',
  'max_over_subscription_ratio',
  'reserved_percentage',
  'thin_provisioning_support',
  'thick_provisioning_support',
  'QoS_support',
  'multiattach',
  'sparse_copy_volume',
  'online_extend_support',
  'clone_across_pools',
  'location_info',
  'filter_function',
  'goodness_function',
  'volume_backend_name',
  'vendor_name',
  'driver_version',
  'storage_protocol',
  'timestamp',
  'total_volumes',
  'backend_state',
  'availability_zone',
]);

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const arrayAt = (v: unknown, key: string): unknown[] => (isRecord(v) && Array.isArray(v[key]) ? v[key] : []);
const stringAt = (v: unknown, key: string): string | null => (isRecord(v) && typeof v[key] === 'string' ? v[key] : null);

function problem(source: YamlSource, path: Path, message: string, which: 'key' | 'value' = 'value'): FileProblem {
  return { location: source.locate(path, which), path: formatPath(path), message };
}

/** Reports every repeated `name` in `items` at the repeat, pointing back at the first. */
function duplicates(source: YamlSource, items: readonly unknown[], base: Path, what: string): FileProblem[] {
  const out: FileProblem[] = [];
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const n = stringAt(item, 'name');
    if (n === null) return;
    const prev = first.get(n);
    if (prev === undefined) {
      first.set(n, i);
      return;
    }
    const prevLine = source.locate([...base, prev, 'name']).line;
    out.push(problem(source, [...base, i, 'name'], `duplicate ${what} '${n}' (first defined on line ${prevLine})`));
  });
  return out;
}

/**
 * Rules over the raw document that hold whatever else is wrong with it, so that they are reported
 * together with the schema's problems: duplicate names, unknown drivers, a default type naming no
 * type, capabilities that would shadow reported ones.
 */
export function checkRawDocument(source: YamlSource, driverNames: readonly string[]): FileProblem[] {
  const doc = source.value;
  const out: FileProblem[] = [];
  const backends = arrayAt(doc, 'backends');
  out.push(...duplicates(source, backends, ['backends'], 'back-end name'));
  backends.forEach((b, i) => {
    const driver = stringAt(b, 'driver');
    if (driver !== null && driver.length > 0 && !driverNames.includes(driver)) {
      const hint = suggest(driver, driverNames);
      out.push(
        problem(
          source,
          ['backends', i, 'driver'],
          `unknown driver '${driver}'${hint ? ` (did you mean '${hint}'?)` : ''}; available: ${driverNames.join(', ') || 'none'}`,
        ),
      );
    }
    const pools = arrayAt(b, 'pools');
    out.push(...duplicates(source, pools, ['backends', i, 'pools'], 'pool name'));
    pools.forEach((p, j) => {
      const caps = isRecord(p) && isRecord(p['capabilities']) ? p['capabilities'] : {};
      for (const key of Object.keys(caps)) {
        if (REPORTED_CAPABILITY_KEYS.has(key)) {
          out.push(
            problem(
              source,
              ['backends', i, 'pools', j, 'capabilities', key],
              `capability '${key}' is reported by Ballast itself and cannot be set here`,
              'key',
            ),
          );
        }
      }
    });
  });
  const types = arrayAt(doc, 'volumeTypes');
  out.push(...duplicates(source, types, ['volumeTypes'], 'volume type name'));
  const defaultType = stringAt(doc, 'defaultVolumeType');
  if (defaultType !== null) {
    const names = types.map((t) => stringAt(t, 'name')).filter((n): n is string => n !== null);
    if (!names.includes(defaultType)) {
      const hint = suggest(defaultType, names);
      const known = names.length > 0 ? `; defined types: ${names.join(', ')}` : '; no volumeTypes are defined';
      out.push(
        problem(
          source,
          ['defaultVolumeType'],
          `defaultVolumeType '${defaultType}' names no volume type${hint ? ` (did you mean '${hint}'?)` : ''}${known}`,
        ),
      );
    }
  }
  return out;
}

/** Whether directory `inner` is `outer` or lies inside it (both absolute and normalized). */
function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
}

/**
 * Rules over the compiled back-ends: every pool's data directory is its own (no two pools share
 * or nest, and the state database is in none of them), and every `host@backend#pool` is a valid
 * host string.
 */
export function checkCompiledBackends(source: YamlSource, backends: readonly BackendSpec[], stateDbPath: string): FileProblem[] {
  const out: FileProblem[] = [];
  const pools = backends.flatMap((b, i) => b.pools.map((p, j) => ({ b, p, at: ['backends', i, 'pools', j] as const })));
  for (const [k, { b, p, at }] of pools.entries()) {
    try {
      parseHost(`${b.host}@${b.name}#${p.name}`);
    } catch (e) {
      out.push(problem(source, [...at, 'name'], e instanceof Error ? e.message : String(e)));
    }
    for (const other of pools.slice(0, k)) {
      if (within(p.dataPath, other.p.dataPath) || within(other.p.dataPath, p.dataPath)) {
        out.push(
          problem(
            source,
            p.dataPath === other.p.dataPath ? [...at, 'path'] : [...at],
            `data directory ${p.dataPath} overlaps that of pool ${other.b.name}#${other.p.name} (${other.p.dataPath}); give each pool its own path`,
          ),
        );
      }
    }
    if (within(stateDbPath, p.dataPath) || within(p.dataPath, stateDbPath)) {
      out.push(problem(source, [...at], `the state database ${stateDbPath} and this pool's data directory ${p.dataPath} overlap`));
    }
  }
  return out;
}

/** Capability keys whose value is known from the configuration alone. */
function configuredCapabilities(b: BackendSpec, p: BackendSpec['pools'][number]): Record<string, unknown> {
  return {
    ...p.capabilities,
    pool_name: p.name,
    volume_backend_name: b.volumeBackendName,
    availability_zone: p.availabilityZone,
    reserved_percentage: p.reservedPercentage,
    max_over_subscription_ratio: p.maxOverSubscriptionRatio,
    total_capacity_gb: p.sizeGiB,
    // As the raw and chunked drivers report them (PoolSpec.provisioning).
    thin_provisioning_support: p.provisioning === 'thin',
    thick_provisioning_support: p.provisioning === 'thick',
  };
}

const CONFIG_KNOWN: ReadonlySet<string> = new Set([
  'pool_name',
  'volume_backend_name',
  'availability_zone',
  'reserved_percentage',
  'max_over_subscription_ratio',
  'total_capacity_gb',
  'thin_provisioning_support',
  'thick_provisioning_support',
]);

/** Drops the specs on capabilities only a running driver reports (they may well match). */
function configCheckableSpecs(specs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(specs)) {
    const bare = key.startsWith('capabilities:') ? key.slice('capabilities:'.length) : key;
    const head = bare.split(':')[0] ?? bare;
    if (REPORTED_CAPABILITY_KEYS.has(bare) && !CONFIG_KNOWN.has(bare)) continue;
    if (REPORTED_CAPABILITY_KEYS.has(head) && !CONFIG_KNOWN.has(head)) continue;
    out[key] = value;
  }
  return out;
}

/**
 * Warnings for volume types whose extra specs no configured pool can satisfy (Cinder's
 * CapabilitiesFilter over what the configuration says; specs on capabilities only a running
 * driver reports are given the benefit of the doubt).
 */
export function checkTypesMatchPools(
  source: YamlSource,
  backends: readonly BackendSpec[],
  types: readonly { readonly name: string; readonly extraSpecs: Readonly<Record<string, string>> }[],
): FileProblem[] {
  const out: FileProblem[] = [];
  const pools = backends.flatMap((b) => b.pools.map((p) => ({ b, p })));
  types.forEach((t, i) => {
    const specs = configCheckableSpecs(t.extraSpecs);
    const verdicts = pools.map(({ b, p }) => ({ b, p, v: capabilitiesMatch(specs, configuredCapabilities(b, p)) }));
    if (verdicts.length === 0 || verdicts.some((x) => x.v.pass)) return;
    const vbn = specs['volume_backend_name'];
    const names = [...new Set(backends.map((b) => b.volumeBackendName))];
    if (vbn !== undefined && !/\s/.test(vbn.trim()) && !names.includes(vbn)) {
      const hint = suggest(vbn, names);
      out.push(
        problem(
          source,
          ['volumeTypes', i, 'extraSpecs', 'volume_backend_name'],
          `volume type '${t.name}' can be placed on no pool: volume_backend_name '${vbn}' names no back-end${hint ? ` (did you mean '${hint}'?)` : ''}; back-ends report: ${names.join(', ')}`,
        ),
      );
      return;
    }
    const first = verdicts[0]!;
    out.push(
      problem(
        source,
        ['volumeTypes', i, 'extraSpecs'],
        `volume type '${t.name}' can be placed on no pool (e.g. ${first.b.host}@${first.b.name}#${first.p.name}: ${first.v.reason})`,
      ),
    );
  });
  return out;
}
