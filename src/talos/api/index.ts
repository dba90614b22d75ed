/**
 * The Talos API: a typed client for Talos nodes (maintenance mode with certificate pinning,
 * configured mode with mutual TLS). Import from here, not from src/talos/index.ts, so commands that
 * do not talk to nodes never load gRPC.
 */
export { connectTalos, TalosClient } from './client.js';
export { RESOURCES, type CosiEvent, type CosiEventType, type CosiResource } from './cosi.js';
export * from './errors.js';
export { machineReadiness, type MachineReadiness, type MachineStatusSpec } from './machine-status.js';
export { FilePinStore, MemoryPinStore, spkiFingerprint, type PinStore } from './pins.js';
export { untarSingleFile, TarError, type TarFile } from './tar.js';
export type { TalosTlsMode } from './transport.js';
export * from './types.js';
export { discoverNodes, expandTargets, matchMachines, probeNode, type DiscoveredNode, type DiscoverOptions } from './discover.js';
