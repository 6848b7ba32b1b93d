/**
 * The `raw` volume driver: sparse image files, block copy mode, driver-assisted move by rename.
 */
import type { DriverFactory } from '../../src/blockstore/index.js';
import { RawDriver } from './raw-driver.js';

export { RawDriver, RAW_DRIVER_NAME, RAW_PREALLOCATE_SPEC } from './raw-driver.js';
export { RawHandle, type RawHandleContext } from './raw-handle.js';

/** Builds a raw driver for a back-end (`driver: raw`). */
export const createRawDriver: DriverFactory = (backend) => new RawDriver(backend);
