export * from './errors.js';
export * from './clock.js';
export * from './units.js';
export * from './ids.js';
export * from './yaml-source.js';
export * from './validation.js';
export * from './log.js';
export * from './prng.js';
