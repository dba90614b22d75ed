import v8 from 'node:v8';

/**
 * V8's optimizing compiler (TurboFan) held back while `netboot serve` starts. Loading the server
 * makes two of Node's own module-loader functions (path normalization, file URL to path) hot
 * enough to optimize: ~25 ms of compiling on a second thread, and the first use of TurboFan maps
 * ~3.5 MiB more of the node binary into the process for good. Neither helps a start that must
 * answer DHCP within 0.3 s and then sit idle small (issue 11). The flag is read each time V8
 * decides to optimize, so it takes effect at run time (like young-generation.ts's growth factor).
 */
export function holdOptimizer(): void {
  v8.setFlagsFromString('--no-turbofan');
}

/** Lets V8 optimize again: once the server is up, hot code under load is optimized as usual. */
export function releaseOptimizer(): void {
  v8.setFlagsFromString('--turbofan');
}
