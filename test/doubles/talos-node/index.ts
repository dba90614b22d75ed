/** A Talos node double (and the network several of them share) for tests and benchmarks. */
export { TalosNodeDouble, type DoubleStage, type TalosNodeDoubleOptions } from './double.js';
export { TalosDoubleNetwork } from './network.js';
export type { DoubleDisk, DoubleHardware, DoubleLink } from './hardware.js';
