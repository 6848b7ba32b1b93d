/**
 * Fault injection points of the migration flow, so tests can fail (or crash the process at)
 * every stage. Production runs with `noFaults`.
 */
export type FaultStage =
  | 'after-accept'
  | 'driver-migrate'
  | 'create-dest'
  | 'mid-copy'
  | 'verify'
  | 'completing'
  | 'after-rename'
  | 'after-swap'
  | 'delete-source';

export interface FaultInjector {
  /** Called when the flow reaches `stage`; may throw (a failure) or kill the process (a crash). */
  at(stage: FaultStage, info: { readonly migrationId: string; readonly bytesCopied?: number }): void;
}

export const noFaults: FaultInjector = { at: () => undefined };

export const FAULT_STAGES: readonly FaultStage[] = [
  'after-accept',
  'driver-migrate',
  'create-dest',
  'mid-copy',
  'verify',
  'completing',
  'after-rename',
  'after-swap',
  'delete-source',
];

/**
 * Faults from `BALLAST_FAULT=<fail|crash>:<stage>[:<minBytesCopied>]` (test harnesses only; the
 * CLI reads it so crash tests can kill a real child process at a chosen point).
 */
export function faultsFromEnv(value: string | undefined, fail: (stage: FaultStage) => Error): FaultInjector {
  if (!value) return noFaults;
  const [mode, stage, minBytes] = value.split(':');
  if ((mode !== 'fail' && mode !== 'crash') || !FAULT_STAGES.includes(stage as FaultStage)) return noFaults;
  const threshold = Number(minBytes ?? 0);
  return {
    at(s, info) {
      if (s !== stage) return;
      if (s === 'mid-copy' && (info.bytesCopied ?? 0) < threshold) return;
      if (mode === 'crash') process.kill(process.pid, 'SIGKILL');
      throw fail(s);
    },
  };
}
