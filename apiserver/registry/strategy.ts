// The per-kind REST rules the generic store follows, the analog of Kubernetes' rest strategies: whether a kind has
// a status subresource, tracks metadata.generation, is deleted gracefully, expires. Each kind's registry module
// (registry/<family>/) supplies its own; see kind.ts.
import type { KubeObject } from "../../api/meta.js";
import type { UserInfo } from "../../api/types/index.js";

/** Who asks for a create: the authenticated user, absent for the apiserver's own writes. */
export interface CreateContext {
  user: UserInfo | undefined;
}

export interface Strategy {
  /** Status is cleared on create (unless statusOnCreate) and kept from the stored object on a main-resource write. */
  readonly statusSubresource: boolean;
  /** Nodes register with their status; for them create keeps the status the client sent. */
  readonly statusOnCreate: boolean;
  /** metadata.generation starts at 1 and is bumped when anything outside metadata and status changes. */
  readonly tracksGeneration: boolean;
  /** A PUT of a missing object creates it. */
  readonly allowCreateOnUpdate: boolean;
  /** DELETE answers with the object rather than a Status. */
  readonly returnDeletedObject: boolean;
  /** Keys expire after this long (events). */
  readonly ttlSeconds?: number;
  /** The grace period for a DELETE without one, or undefined when the kind is deleted at once. */
  gracePeriodFor?(object: KubeObject, requested: number | undefined): number | undefined;
  /** Kind-specific fields set on create, after defaulting and the create-only defaults of api/defaults.ts. */
  prepareForCreate?(object: KubeObject, context: CreateContext): void;
  /** Kind-specific clean-up of a main-resource update before validation (a Service changing type). */
  prepareForUpdate?(next: KubeObject, prev: KubeObject): void;
  /** Kind-specific clean-up of a status-subresource update before validation (custom resources' schemas). */
  prepareForStatusUpdate?(next: KubeObject, prev: KubeObject): void;
  /**
   * An object read from storage (get, list, watch, and the replies to writes) as the API serves it: custom resources
   * get their schema's defaults (apiextensions-apiserver defaults on decode). Returns the object itself when it has
   * nothing to change, else a changed copy: stored objects are shared with the watch cache.
   */
  decodeStored?(object: KubeObject): KubeObject;
  /** The first DELETE only marks the object (namespaces go Terminating until their finalizers are done). */
  readonly alwaysGraceful?: boolean;
  /**
   * Custom resources: a status the server clears is gone. A built-in kind's status is a Go struct, so a cleared one
   * is written as `status: {}`, as Kubernetes serializes it.
   */
  readonly unstructured?: boolean;
}

/** The strategy of a kind with no special rules: no status subresource, no generation, deleted at once. */
export const PLAIN_STRATEGY: Strategy = {
  statusSubresource: false,
  statusOnCreate: false,
  tracksGeneration: false,
  allowCreateOnUpdate: false,
  returnDeletedObject: false,
};
