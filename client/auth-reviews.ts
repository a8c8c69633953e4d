// The apiserver as the judge of another server's callers (Kubernetes' delegated authentication and authorization):
// a TokenReview for a bearer token, a SubjectAccessReview for what a user may do. The kubelet API and the secure
// ports of kube-scheduler and kube-controller-manager ask through these (component-base/delegated-auth.ts caches).
import { RESOURCES } from "../api/resources.js";
import type { SubjectAccessReview, SubjectAccessReviewSpec, TokenReview } from "../api/types/index.js";
import type { AccessDecision, RequestUser, TokenReviewer } from "../component-base/delegated-auth.js";
import type { RestClient } from "./rest.js";

const TOKEN_REVIEWS = RESOURCES.find((r) => r.group === "authentication.k8s.io" && r.resource === "tokenreviews")!;
const SUBJECT_ACCESS_REVIEWS = RESOURCES.find((r) => r.group === "authorization.k8s.io" && r.resource === "subjectaccessreviews")!;

/** Reviews bearer tokens with TokenReviews created through `client` (it needs create on tokenreviews). */
export function tokenReviewWebhook(client: RestClient): TokenReviewer {
  return async (token) => {
    const review = await client.create<TokenReview>(TOKEN_REVIEWS, undefined, { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", metadata: {}, spec: { token } });
    const status = review.status ?? {};
    if (status.authenticated === true && status.user?.username) return { user: status.user };
    return { error: status.error !== undefined && status.error !== "" ? status.error : "invalid bearer token" };
  };
}

/** What a SubjectAccessReview asks about: resource or non-resource attributes, without the user. */
export type AccessAttributes = Pick<SubjectAccessReviewSpec, "resourceAttributes" | "nonResourceAttributes">;

/** Asks whether `user` may do `attributes`, with a SubjectAccessReview created through `client`. */
export function subjectAccessReviewWebhook(client: RestClient): (user: RequestUser, attributes: AccessAttributes) => Promise<AccessDecision> {
  return async (user, attributes) => {
    const spec: SubjectAccessReviewSpec = {
      ...attributes,
      user: user.username ?? "",
      groups: user.groups ?? [],
      ...(user.uid !== undefined ? { uid: user.uid } : {}),
      ...(user.extra !== undefined ? { extra: user.extra } : {}),
    };
    return reviewAccess(client, spec);
  };
}

/** The apiserver's answer to a SubjectAccessReview of `spec` (allowed unless denied; its reason or evaluation error). */
export async function reviewAccess(client: Pick<RestClient, "create">, spec: SubjectAccessReviewSpec): Promise<AccessDecision> {
  const review = await client.create<SubjectAccessReview>(SUBJECT_ACCESS_REVIEWS, undefined, { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", metadata: {}, spec });
  const status = review.status ?? {};
  return { allowed: status.allowed === true && status.denied !== true, reason: status.reason ?? status.evaluationError ?? "" };
}
