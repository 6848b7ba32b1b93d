/**
 * The `chunked` volume driver: a volume as a directory of fixed-size objects, file copy mode,
 * no driver-assisted move.
 */
import type { DriverFactory } from '../../src/blockstore/index.js';
import { ChunkedDriver } from './chunked-driver.js';

export { ChunkedDriver, CHUNKED_DRIVER_NAME, CHUNKED_CHUNK_SIZE_SPEC, DEFAULT_CHUNK_SIZE_MIB } from './chunked-driver.js';
export { ChunkedHandle, type ChunkedHandleContext } from './chunked-handle.js';

/** Builds a chunked driver for a back-end (`driver: chunked`, option `chunkSizeMiB`, default 4). */
export const createChunkedDriver: DriverFactory = (backend) => new ChunkedDriver(backend);
