/**
 * Loads the shipped Talos/COSI .proto files (see proto/README.md) into gRPC service constructors.
 * One load per API era, cached. Fields keep their proto names (snake_case); google.protobuf.Any
 * values are decoded into `{ '@type': url, ...fields }` (proto-loader's `json` option).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { OperationError } from '../../common/errors.js';
import { packagePath } from '../../common/package-root.js';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export type ApiEra = 'v1.6' | 'v1.13';

/** The shipped .proto files (src/talos/api/proto in hearth's package). */
function protoDir(): string {
  const dir = packagePath('src', 'talos', 'api', 'proto');
  if (!existsSync(path.join(dir, 'v1.13'))) throw new OperationError(`the Talos API definitions are missing from this installation (${dir})`);
  return dir;
}

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  oneofs: true,
  json: true,
};

/** The service constructors of one era; `lifecycle` only exists from v1.13. */
export interface TalosServices {
  era: ApiEra;
  machine: grpc.ServiceClientConstructor;
  lifecycle?: grpc.ServiceClientConstructor;
  storage: grpc.ServiceClientConstructor;
  cosiState: grpc.ServiceClientConstructor;
}

const cache = new Map<ApiEra, TalosServices>();

export function loadTalosServices(era: ApiEra): TalosServices {
  const hit = cache.get(era);
  if (hit) return hit;
  const root = path.join(protoDir(), era);
  const files = ['machine/machine.proto', 'storage/storage.proto', 'v1alpha1/state.proto'];
  if (era === 'v1.13') files.push('machine/lifecycle.proto');
  const def = protoLoader.loadSync(files, {
    ...LOADER_OPTIONS,
    includeDirs: [path.join(root, 'siderolabs-talos/api'), path.join(root, 'siderolabs-talos/api/vendor'), path.join(root, 'cosi-project-specification/proto')],
  });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const services: TalosServices = {
    era,
    machine: pkg.machine.MachineService,
    lifecycle: pkg.machine.LifecycleService,
    storage: pkg.storage.StorageService,
    cosiState: pkg.cosi.resource.State,
  };
  cache.set(era, services);
  return services;
}
