// Delegated authorization (Kubernetes' webhook authorizer in its "delegated" form, as extension apiservers such as
// metrics-server use it): each decision is a SubjectAccessReview created at the apiserver, whose RBAC answers.
// Decisions are cached as Kubernetes' delegating authorizer caches them (allowed 10 s, denied 10 s), so a kubectl
// top or an autoscaler's poll costs one review per user and resource every 10 s at most.
import { RESOURCES } from "../api/resources.js";
import type { SubjectAccessReview, SubjectAccessReviewSpec } from "../api/types/index.js";
import type { RestClient } from "./rest.js";

const SUBJECT_ACCESS_REVIEWS = RESOURCES.find((r) => r.group === "authorization.k8s.io" && r.resource === "subjectaccessreviews")!;
const MAX_CACHED = 1024;

export interface Decision {
  allowed: boolean;
  /** The apiserver's reason (or evaluation error), for the 403's message and the log. */
  reason: string;
}

export interface SubjectAccessReviewAuthorizerOptions {
  client: Pick<RestClient, "create">;
  allowTtlMs?: number;
  denyTtlMs?: number;
  now?: () => number;
}

export class SubjectAccessReviewAuthorizer {
  private readonly cache = new Map<string, { decision: Decision; expiresAt: number }>();

  constructor(private readonly options: SubjectAccessReviewAuthorizerOptions) {}

  /** Asks the apiserver (or the cache) whether `spec`'s user may do what it names; a failed review throws. */
  async authorize(spec: SubjectAccessReviewSpec): Promise<Decision> {
    const now = (this.options.now ?? Date.now)();
    const key = JSON.stringify(spec);
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.expiresAt > now) return cached.decision;
    const review = await this.options.client.create<SubjectAccessReview>(SUBJECT_ACCESS_REVIEWS, undefined, { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", metadata: {}, spec });
    const status = review.status ?? {};
    const decision: Decision = { allowed: status.allowed === true && status.denied !== true, reason: status.reason ?? status.evaluationError ?? "" };
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, { decision, expiresAt: now + (decision.allowed ? (this.options.allowTtlMs ?? 10_000) : (this.options.denyTtlMs ?? 10_000)) });
    return decision;
  }
}
