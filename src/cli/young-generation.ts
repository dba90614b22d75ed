import v8 from 'node:v8';

/**
 * A long-running server's young generation stays at V8's initial size (1 MiB semi-spaces). By
 * default V8 doubles it (up to 2 x 16 MiB on 64-bit) whenever enough objects survive scavenges,
 * which a server with requests in flight always has, so RSS climbed by ~45 MiB under DHCP load and
 * never came back. At the initial size scavenges are more frequent but each as cheap (their cost is
 * the survivors, not the space). Read by V8 each time it considers growing, so setting it at run
 * time takes effect (unlike --max-semi-space-size, fixed when the heap is set up; and on the command
 * line V8 raises any factor below 2 to 2, so there it does nothing).
 *
 * Call it before loading the server's modules: loading them (the spec schema, the servers) leaves
 * enough survivors to double the young generation twice, 4 MiB more idle RSS that V8 gives back
 * only ~10 s later, once its memory reducer runs.
 */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
