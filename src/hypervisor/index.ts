/**
 * The compute side of in-use volumes: a consumer's view of an attached volume (one
 * qemu-storage-daemon serving it over NBD, driven over QMP) and the live block copy + pivot.
 */
export { QmpClient, type QmpConnectOptions, type QmpEvent, type WaitForEventOptions } from './qmp-client.js';
export { StorageDaemon, QSD_BINARY, type DaemonLocation, type StartOptions, type StopOptions } from './storage-daemon.js';
export { blockdevOptions, nbdUnixAddress } from './block-nodes.js';
export { isProcessAlive } from './process.js';
export type {
  BlockSource,
  CancelMirrorResult,
  MirrorJobInfo,
  MirrorOptions,
  MirrorProgress,
  MirrorRecord,
  MirrorResult,
  StorageDaemonState,
} from './types.js';
export { BLOCK, NbdClient, PatternWriter, verifyImage, writeBaseline, fillPattern, describeBlock, type AckedWrite, type BadBlock, type WriterOptions } from './consumer-workload.js';
