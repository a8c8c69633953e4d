// What a kind's registry module (registry/<family>/) gives the generic machinery: its strategy, its admission and
// write hooks, the subresources with their own shapes, and, for a resource served as a view of another's storage,
// the conversion. The generic ResourceStore (store.ts) knows nothing of any kind; the Registry (registry.ts) plugs
// these definitions into it, and the HTTP layer (server.ts) dispatches subresources to them.
import type { KubeObject } from "../../api/meta.js";
import type { UserInfo } from "../../api/types/index.js";
import type { Authorizer } from "../auth/authorizer.js";
import type { ServiceAccountTokens } from "../auth/service-account-tokens.js";
import type { ComponentProbe } from "./componentstatuses/componentstatuses.js";
import type { ServiceAllocators } from "./services/allocation.js";
import type { ResourceStore, StoreHooks } from "./store.js";
import type { Strategy } from "./strategy.js";

/** The apiserver settings kind modules read (flags such as --event-ttl). */
export interface KindConfig {
  allocators: ServiceAllocators;
  eventTtlSeconds: number;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
  /** The store of another served resource, for admission that reads other kinds (PriorityClasses for pods); bound by the registry. */
  storeFor?: StoreLookup;
  /**
   * Signs and verifies service-account tokens (serviceaccounts/token, TokenReview); absent: those answer 503. A
   * promise, so that generating a key at start (RSA takes the better part of a second) never delays serving.
   */
  serviceAccountTokens?: () => Promise<ServiceAccountTokens>;
  /** The components `kubectl get componentstatuses` reports on. */
  componentProbes?: readonly ComponentProbe[];
  /**
   * The authorizer --authorization-mode configured (it reads the registry, so it is made after it): the access
   * reviews ask it. Absent or undefined: every review is allowed, as AlwaysAllow answers.
   */
  authorizer?: () => Authorizer | undefined;
}

/** The store serving group/version/resource; undefined when it is not served. */
export type StoreLookup = (group: string, version: string, resource: string) => ResourceStore | undefined;

/** A subresource request as a kind's handler sees it: the HTTP decoding stays with the server. */
export interface SubresourceRequest {
  readonly method: string;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly dryRun: boolean;
  /** The field manager the write is recorded under in managedFields (fieldManager, or the User-Agent's product). */
  readonly fieldManager?: string;
  /** The store of the resource the subresource belongs to. */
  readonly store: ResourceStore;
  /** The stores of other resources (pods/eviction reads PodDisruptionBudgets, a TokenRequest bound to a Pod the pod). */
  readonly storeFor: StoreLookup;
  /** The body as an object of the resource's kind, decoded with the fieldValidation directive applied. */
  readonly object: () => Promise<unknown>;
  /** The body decoded by its Content-Type (a Binding, an Eviction, a Scale), without field checks. */
  readonly json: () => Promise<unknown>;
  /** A PATCH body with its patch type. */
  readonly patch: () => Promise<{ contentType: string; patch: unknown }>;
}

/** A request to a computed resource: nothing is stored, the answer is worked out per request. */
export interface ComputedRequest {
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  /** The request's Authorization header: the reviews answer about the caller. */
  readonly authorization: string | undefined;
  /** The authenticated user (the insecure port's user when authentication did not run). */
  readonly user: UserInfo;
  /** The body decoded as an object of the resource's kind, with the fieldValidation directive applied. */
  readonly object: () => Promise<unknown>;
  readonly storeFor: StoreLookup;
}

/**
 * A resource whose objects are computed, not stored: the review kinds (create answers the review), and
 * ComponentStatus (get and list probe the components). A verb without a function is 405 MethodNotAllowed.
 */
export interface ComputedResource {
  create?(request: ComputedRequest): Promise<KubeObject>;
  get?(request: ComputedRequest): Promise<KubeObject>;
  list?(request: ComputedRequest): Promise<KubeObject[]>;
  /** A Warning header sent with every answer (a deprecation). */
  readonly warning?: string;
}

/**
 * A subresource reply: `object` is an object of the resource's own kind (converted and rendered as a Table like a
 * GET of the resource), `body` any other document (a Scale, a Status), sent as JSON.
 */
export type SubresourceReply = { code: number; object: KubeObject } | { code: number; body: unknown };

/** Serves one subresource for every method; throws a StatusError (MethodNotAllowed, NotFound, ...) to refuse. */
export type SubresourceHandler = (request: SubresourceRequest) => Promise<SubresourceReply>;

/** A resource served over another resource's storage, converting on the way in and out. */
export interface ResourceView {
  /** The resource whose store holds the objects. */
  readonly storedAs: { readonly group: string; readonly version: string; readonly resource: string };
  toApi(stored: KubeObject): KubeObject;
  fromApi(body: unknown): unknown;
}

/** One served resource's server behaviour, keyed by group and plural resource name (all versions). */
export interface ResourceDefinition {
  readonly group: string;
  readonly resource: string;
  /** The one version this definition serves (autoscaling/v1 HPAs are a view of v2's); absent: every version. */
  readonly version?: string;
  strategy(config: KindConfig): Strategy;
  hooks?(config: KindConfig): StoreHooks;
  /** Subresources with their own behaviour; `status` is generic and needs no entry. */
  readonly subresources?: Readonly<Record<string, SubresourceHandler>>;
  /** Subresources that need the apiserver's settings (serviceaccounts/token signs with its key). */
  configuredSubresources?(config: KindConfig): Readonly<Record<string, SubresourceHandler>>;
  readonly view?: ResourceView;
  /** Set for resources that are answered, never stored. */
  computed?(config: KindConfig): ComputedResource;
}
