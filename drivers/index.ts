/**
 * The built-in volume drivers, by the name a back-end's `driver:` setting uses. The composition
 * root registers these; a driver folder is only ever imported through its `index.ts`.
 */
import type { DriverFactory } from '../src/blockstore/index.js';
import { createChunkedDriver } from './chunked/index.js';
import { createRawDriver } from './raw/index.js';

export { createChunkedDriver } from './chunked/index.js';
export { createRawDriver } from './raw/index.js';

/** Driver factories by name: `raw` (block, sparse image files) and `chunked` (file-like, objects). */
export const builtinDrivers: Readonly<Record<string, DriverFactory>> = Object.freeze({
  raw: createRawDriver,
  chunked: createChunkedDriver,
});
