/** Lab test specs (not a test file itself): the cluster header, then the netboot section and machines given. */
export function labSpec(name: string, endpoint: string, netboot: string, machines: string): string {
  return `apiVersion: hearth.dev/v1alpha1
kind: Cluster
metadata: { name: ${name} }
talos: { version: v1.13.9 }
cluster: { endpoint: https://${endpoint}:6443 }
platform: { bundle: paas-hosted }
netboot:
${netboot.trimEnd()}
machines:
${machines.trimEnd()}
`;
}
