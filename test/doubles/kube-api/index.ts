/** The Kubernetes API double: the server, a Flux helm-controller stand-in, and their types. */
export { FakeKubeApiServer, type FakeKubeCluster, type FakeKubeOptions, type FakeKubeTls } from './server.js';
export { FakeHelmController } from './helm-controller.js';
export type { Obj, RequestRecord, InjectedError, WatchEvent } from './types.js';
export type { RbacRule, UserInfo } from './auth.js';
