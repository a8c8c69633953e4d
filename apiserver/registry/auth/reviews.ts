// The review kinds of authentication.k8s.io and authorization.k8s.io: created and answered at once, never stored.
// The access reviews ask the authorizer --authorization-mode configured (allowed, denied and its reason, as
// Kubernetes reports them), the rules review its rulesFor(); TokenReview checks the apiserver's own
// service-account tokens.
import { badRequest, invalid, serviceUnavailable } from "../../../api/errors.js";
import type { FieldError } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import type { SelfSubjectRulesReview, SubjectAccessReview, SubjectAccessReviewSpec, SubjectAccessReviewStatus, TokenReview, UserInfo } from "../../../api/types/index.js";
import { ALWAYS_ALLOW, type Attributes, type Authorizer } from "../../auth/authorizer.js";
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

type AuthorizerSource = (() => Authorizer | undefined) | undefined;

function authorizerOf(source: AuthorizerSource): Authorizer {
  return source?.() ?? ALWAYS_ALLOW;
}

/** The attributes a review's spec describes, about `user`. */
function attributesOf(spec: SubjectAccessReviewSpec, user: UserInfo): Attributes {
  const resource = spec.resourceAttributes;
  if (resource) {
    return {
      user,
      verb: resource.verb ?? "",
      resourceRequest: true,
      path: "",
      apiGroup: resource.group ?? "",
      apiVersion: resource.version ?? "",
      namespace: resource.namespace ?? "",
      resource: resource.resource ?? "",
      subresource: resource.subresource ?? "",
      name: resource.name ?? "",
    };
  }
  const nonResource = spec.nonResourceAttributes ?? {};
  return { user, verb: nonResource.verb ?? "", resourceRequest: false, path: nonResource.path ?? "", apiGroup: "", apiVersion: "", namespace: "", resource: "", subresource: "", name: "" };
}

function specUser(spec: SubjectAccessReviewSpec): UserInfo {
  const user: UserInfo = { username: spec.user ?? "", groups: [...(spec.groups ?? [])] };
  if (spec.uid) user.uid = spec.uid;
  if (spec.extra) user.extra = spec.extra;
  return user;
}

function accessReviews(kind: ReviewKind, authorizer: AuthorizerSource): ComputedResource {
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
      if (kind === "SelfSubjectAccessReview") {
        // The caller's own identity, as Kubernetes fills it in (user, groups, extra, uid of the request).
        const self = request.user;
        spec.user = self.username ?? "";
        spec.groups = [...(self.groups ?? [])];
        if (self.extra) spec.extra = self.extra;
        if (self.uid) spec.uid = self.uid;
      }
      review.spec = spec;
      const user = kind === "SelfSubjectAccessReview" ? request.user : specUser(spec);
      const result = await authorizerOf(authorizer).authorize(attributesOf(spec, user));
      const status: SubjectAccessReviewStatus = { allowed: result.decision === "allow" };
      if (result.decision === "deny") status.denied = true;
      if (result.reason !== "") status.reason = result.reason;
      review.status = status;
      return review;
    },
  };
}

function rulesReviews(authorizer: AuthorizerSource): ComputedResource {
  return {
    async create(request) {
      const review = await reviewBody<SelfSubjectRulesReview>(request, "authorization.k8s.io/v1", "SelfSubjectRulesReview");
      if (!review.spec?.namespace) {
        throw invalid("SelfSubjectRulesReview", "authorization.k8s.io", "", [{ type: "FieldValueRequired", field: "spec.namespace", message: "Required value" }]);
      }
      const rules = await authorizerOf(authorizer).rulesFor(request.user, review.spec.namespace);
      review.status = { resourceRules: rules.resourceRules, nonResourceRules: rules.nonResourceRules, incomplete: rules.incomplete };
      if (rules.evaluationError !== undefined) review.status.evaluationError = rules.evaluationError;
      return review;
    },
  };
}

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
  reviews("authorization.k8s.io", "subjectaccessreviews", (config) => accessReviews("SubjectAccessReview", config.authorizer)),
  reviews("authorization.k8s.io", "selfsubjectaccessreviews", (config) => accessReviews("SelfSubjectAccessReview", config.authorizer)),
  reviews("authorization.k8s.io", "localsubjectaccessreviews", (config) => accessReviews("LocalSubjectAccessReview", config.authorizer)),
  reviews("authorization.k8s.io", "selfsubjectrulesreviews", (config) => rulesReviews(config.authorizer)),
];
