/**
 * The lab's network edge: a namespace holding the provisioning bridge (with the netboot address)
 * and one tap per VM NIC. Everything lives inside the namespace, so deleting it removes the bridge
 * and every tap at once, and nothing the lab does reaches the host's own networks.
 */
import { run, must } from './exec.js';
import type { LabPlan } from './plan.js';

export async function netnsExists(name: string): Promise<boolean> {
  const r = await run(['ip', 'netns', 'list']);
  return r.stdout.split('\n').some((l) => l.split(/\s+/)[0] === name);
}

/** Creates the namespace, the bridge with its address, and the taps. Removes the namespace on failure. */
export async function createNetwork(plan: LabPlan): Promise<void> {
  await must(['ip', 'netns', 'add', plan.netns]);
  const ns = (cmd: string[]) => must(['ip', '-n', plan.netns, ...cmd]);
  try {
    await ns(['link', 'set', 'lo', 'up']);
    // Only the lab's IPv4 provisioning traffic: no IPv6 addresses or router solicitations from the host side.
    await must(['ip', 'netns', 'exec', plan.netns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await ns(['link', 'add', plan.bridge, 'type', 'bridge']);
    await ns(['addr', 'add', plan.address, 'dev', plan.bridge]);
    await ns(['link', 'set', plan.bridge, 'up']);
    for (const vm of plan.vms) {
      for (const nic of vm.nics) {
        await ns(['tuntap', 'add', nic.tap, 'mode', 'tap']);
        await ns(['link', 'set', nic.tap, 'master', plan.bridge]);
        await ns(['link', 'set', nic.tap, 'up']);
      }
    }
  } catch (e) {
    await removeNetwork(plan.netns);
    throw e;
  }
}

/** Deletes the namespace (its bridge and taps go with it); no error when it is already gone. */
export async function removeNetwork(netns: string): Promise<void> {
  if (!(await netnsExists(netns))) return;
  await must(['ip', 'netns', 'del', netns]);
}
