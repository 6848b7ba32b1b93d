// The consumer workload lives in src/hypervisor (the demo and the benchmark use it too).
export { BLOCK, NbdClient, PatternWriter, verifyImage, writeBaseline, fillPattern, describeBlock, type AckedWrite, type BadBlock, type WriterOptions } from '../../src/hypervisor/index.js';
