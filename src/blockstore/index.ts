export * from './driver-port.js';
