// The typed views of every kind kubelab serves. Each top-level object extends KubeObject, so it can be passed
// wherever storage, caches and clients expect one.
export type * from "./core.js";
export { VOLUME_SOURCE_KEYS } from "./core.js";
export type * from "./apps.js";
export type * from "./coordination.js";
export type * from "./discovery.js";
export type * from "./events.js";
export type * from "./autoscaling.js";
export type * from "./batch.js";
export type * from "./policy.js";
export type * from "./networking.js";
export type * from "./scheduling.js";
export type * from "./storage.js";
export type * from "./admissionregistration.js";
export type * from "./apiregistration.js";
export type * from "./core-claims.js";
export type * from "./rbac.js";
export type * from "./certificates.js";
export type * from "./auth.js";
