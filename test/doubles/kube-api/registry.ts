/**
 * The resources the double serves: built-in kinds with their schemas, and custom resources, which
 * a CustomResourceDefinition adds once it is Established (not when it is applied), each held to its
 * version's structural schema (pruning) and validated against it (Ajv, 422 with causes).
 */
import { Ajv } from 'ajv';
import { BUILTIN_SHAPES, shapeFromOpenApi, topLevel, UNTYPED, ANY } from './schema.js';
import type { Obj, ResourceInfo } from './types.js';

const builtin = (group: string, plural: string, kind: string, namespaced: boolean, more: Partial<ResourceInfo> = {}): ResourceInfo => ({
  group,
  version: 'v1',
  plural,
  kind,
  namespaced,
  shape: BUILTIN_SHAPES[kind] ?? UNTYPED,
  statusSubresource: false,
  generation: false,
  ...more,
});

export class Registry {
  readonly served: ResourceInfo[] = [
    builtin('', 'namespaces', 'Namespace', false, { statusSubresource: true, shortNames: ['ns'] }),
    builtin('', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
    builtin('', 'secrets', 'Secret', true),
    builtin('', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
    builtin('', 'services', 'Service', true, { statusSubresource: true, shortNames: ['svc'] }),
    builtin('', 'resourcequotas', 'ResourceQuota', true, { statusSubresource: true, shortNames: ['quota'] }),
    builtin('apps', 'deployments', 'Deployment', true, { statusSubresource: true, generation: true, shortNames: ['deploy'] }),
    builtin('networking.k8s.io', 'networkpolicies', 'NetworkPolicy', true, { generation: true, shortNames: ['netpol'] }),
    builtin('rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false),
    builtin('rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false),
    builtin('rbac.authorization.k8s.io', 'roles', 'Role', true),
    builtin('rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding', true),
    // create-only reviews, answered from the caller's identity and the RBAC rules (routes.ts)
    builtin('authorization.k8s.io', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, { verbs: ['create'] }),
    builtin('authentication.k8s.io', 'selfsubjectreviews', 'SelfSubjectReview', false, { verbs: ['create'] }),
    builtin('apiextensions.k8s.io', 'customresourcedefinitions', 'CustomResourceDefinition', false, {
      statusSubresource: true,
      generation: true,
      shortNames: ['crd', 'crds'],
      shape: topLevel({ spec: ANY, status: ANY }),
    }),
  ];
  /** openAPIV3Schema of each served custom group/version/kind (for /openapi/v3). */
  readonly crdSchemas = new Map<string, unknown>();
  /** additionalPrinterColumns of each served custom group/version/kind (for Tables). */
  readonly printerColumns = new Map<string, { name: string; type: string; jsonPath: string }[]>();
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

  byKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
    return this.served.find((r) => r.group === group && r.version === version && r.kind === kind);
  }

  byPlural(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.served.find((r) => r.group === group && r.version === version && r.plural === plural);
  }

  get namespaces(): ResourceInfo {
    return this.served[0]!;
  }

  /** Serves the versions an Established CRD declares. */
  register(crd: Obj): void {
    const spec = crd.spec as {
      group: string;
      names: { plural: string; kind: string; shortNames?: string[] };
      scope: string;
      versions: {
        name: string;
        served: boolean;
        schema?: { openAPIV3Schema?: Record<string, unknown> };
        subresources?: { status?: unknown };
        additionalPrinterColumns?: { name: string; type: string; jsonPath: string }[];
      }[];
    };
    for (const v of spec.versions.filter((x) => x.served)) {
      if (this.byPlural(spec.group, v.name, spec.names.plural)) continue;
      const schema = v.schema?.openAPIV3Schema;
      this.printerColumns.set(`${spec.group}/${v.name}/${spec.names.kind}`, v.additionalPrinterColumns ?? []);
      let validate: ResourceInfo['validate'];
      if (schema) {
        const fn = this.ajv.compile(schema);
        validate = (o) => (fn(o) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath.replace(/\//g, '.') || '<root>'}: ${e.message}`));
        this.crdSchemas.set(`${spec.group}/${v.name}/${spec.names.kind}`, schema);
      }
      this.served.push({
        group: spec.group,
        version: v.name,
        plural: spec.names.plural,
        kind: spec.names.kind,
        namespaced: spec.scope === 'Namespaced',
        shape: schema ? shapeFromOpenApi(schema) : UNTYPED,
        statusSubresource: !!v.subresources?.status,
        generation: true,
        custom: true,
        validate,
        shortNames: spec.names.shortNames,
      });
    }
  }

  unregister(crd: Obj): void {
    const spec = crd.spec as { group: string; names: { plural: string } };
    for (let i = this.served.length - 1; i >= 0; i--) {
      const r = this.served[i]!;
      if (r.group === spec.group && r.plural === spec.names.plural) this.served.splice(i, 1);
    }
  }
}
