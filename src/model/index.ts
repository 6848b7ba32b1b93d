export * from './host.js';
export * from './capacity.js';
export * from './weigher.js';
export * from './extra-specs.js';
export * from './types.js';
