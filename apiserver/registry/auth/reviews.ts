// The review kinds of authentication.k8s.io and authorization.k8s.io: created and answered at once, never stored.
// kubelab authorizes everything (the AlwaysAllow mode), so every access review is allowed and every rules review
// lists the `*` rules AlwaysAllow reports; TokenReview checks the apiserver's own service-account tokens.
import { badRequest, invalid, serviceUnavailable } from "../../../api/errors.js";
import type { FieldError } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import type { SelfSubjectRulesReview, SubjectAccessReview, SubjectAccessReviewSpec, TokenReview } from "../../../api/types/index.js";
import { reviewToken, userOf } from "../../auth/identity.js";
import type { ServiceAccountTokens } from "../../auth/service-account-tokens.js";
import type { ComputedRequest, ComputedResource, KindConfig, ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

type TokenSource = () => Promise<ServiceAccountTokens>;

type ReviewKind = "SubjectAccessReview" | "SelfSubjectAccessReview" | "LocalSubjectAccessReview";

async function reviewBody<T extends KubeObject>(request: ComputedRequest, apiVersion: string, kind: string): Promise<T> {
  const body = await request.object();
  if (!isRecord(body)) throw badRequest("the body must be a JSON object");
  const metadata = isRecord(body.metadata) ? body.metadata : {};
  return { ...body, apiVersion, kind, metadata } as unknown as T;
}

function accessReviews(kind: ReviewKind): ComputedResource {
  return {
    async create(request) {
      const review = await reviewBody<SubjectAccessReview>(request, "authorization.k8s.io/v1", kind);
      const spec: SubjectAccessReviewSpec = isRecord(review.spec) ? review.spec : {};
      const errs: FieldError[] = [];
      const resource = spec.resourceAttributes;
      const nonResource = spec.nonResourceAttributes;
      if ((resource === undefined) === (nonResource === undefined)) {
        errs.push({ type: "FieldValueInvalid", field: "spec.resourceAttributes", message: `Invalid value: ${JSON.stringify(spec)}: exactly one of nonResourceAttributes or resourceAttributes must be specified` });
      }
      if (kind === "SubjectAccessReview" && !spec.user && (spec.groups ?? []).length === 0) {
        errs.push({ type: "FieldValueInvalid", field: "spec.user", message: `Invalid value: "": at least one of user or group must be specified` });
      }
      if (kind === "LocalSubjectAccessReview" && resource?.namespace !== request.namespace) {
        errs.push({ type: "FieldValueInvalid", field: "spec.resourceAttributes.namespace", message: `Invalid value: ${JSON.stringify(resource?.namespace ?? "")}: must match metadata.namespace` });
      }
      if (errs.length > 0) throw invalid(kind, "authorization.k8s.io", review.metadata.name ?? "", errs);
      if (kind === "LocalSubjectAccessReview" && request.namespace !== undefined) review.metadata.namespace = request.namespace;
      review.spec = spec;
      review.status = { allowed: true };
      return review;
    },
  };
}

const rulesReviews: ComputedResource = {
  async create(request) {
    const review = await reviewBody<SelfSubjectRulesReview>(request, "authorization.k8s.io/v1", "SelfSubjectRulesReview");
    if (!review.spec?.namespace) {
      throw invalid("SelfSubjectRulesReview", "authorization.k8s.io", "", [{ type: "FieldValueRequired", field: "spec.namespace", message: "Required value" }]);
    }
    review.status = {
      resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
      nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
      incomplete: false,
    };
    return review;
  },
};

/** SelfSubjectReview (`kubectl auth whoami`): the user the request was authenticated (or impersonated) as. */
const selfSubjectReviews: ComputedResource = {
  async create(request) {
    const review = await reviewBody<KubeObject>(request, "authentication.k8s.io/v1", "SelfSubjectReview");
    review.status = { userInfo: structuredClone(request.user) };
    return review;
  },
};

function tokenReviews(tokenSource: TokenSource | undefined): ComputedResource {
  return {
    async create(request) {
      const review = await reviewBody<TokenReview>(request, "authentication.k8s.io/v1", "TokenReview");
      const spec = review.spec ?? {};
      if (!spec.token) throw invalid("TokenReview", "authentication.k8s.io", "", [{ type: "FieldValueRequired", field: "spec.token", message: "Required value" }]);
      const tokens = await tokenSource?.();
      if (!tokens) throw serviceUnavailable("this apiserver has no service account token key");
      const verified = await reviewToken(spec.token, spec.audiences ?? [], tokens, request.storeFor);
      review.status = verified.authenticated
        ? { authenticated: true, user: userOf(verified.claims), audiences: verified.audiences }
        : { user: {}, error: `[${verified.error}]` };
      return review;
    },
  };
}

function reviews(group: string, resource: string, computed: (config: KindConfig) => ComputedResource): ResourceDefinition {
  return { group, resource, strategy: () => PLAIN_STRATEGY, computed };
}

export const AUTH_REVIEW_RESOURCES: readonly ResourceDefinition[] = [
  reviews("authentication.k8s.io", "selfsubjectreviews", () => selfSubjectReviews),
  reviews("authentication.k8s.io", "tokenreviews", (config) => tokenReviews(config.serviceAccountTokens)),
  reviews("authorization.k8s.io", "subjectaccessreviews", () => accessReviews("SubjectAccessReview")),
  reviews("authorization.k8s.io", "selfsubjectaccessreviews", () => accessReviews("SelfSubjectAccessReview")),
  reviews("authorization.k8s.io", "localsubjectaccessreviews", () => accessReviews("LocalSubjectAccessReview")),
  reviews("authorization.k8s.io", "selfsubjectrulesreviews", () => rulesReviews),
];
