/** Test data for the double's tests: a CustomResourceDefinition of one served, stored version. */
export function crd(o: {
  group: string;
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  properties: Record<string, unknown>;
  status?: boolean;
  printerColumns?: { name: string; type: string; jsonPath: string }[];
}) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.plural}.${o.group}` },
    spec: {
      group: o.group,
      scope: o.scope,
      names: { plural: o.plural, singular: o.kind.toLowerCase(), kind: o.kind, listKind: `${o.kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          ...(o.status ? { subresources: { status: {} } } : {}),
          ...(o.printerColumns ? { additionalPrinterColumns: o.printerColumns } : {}),
          schema: { openAPIV3Schema: { type: 'object', properties: o.properties } },
        },
      ],
    },
  };
}
