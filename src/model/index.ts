export * from './host.js';
export * from './capacity.js';
export * from './weigher.js';
export * from './extra-specs.js';
export * from './types.js';
export * from './inventory.js';
export * from './plan.js';
export * from './control-plane.js';
