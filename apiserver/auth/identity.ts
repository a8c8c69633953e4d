// Who a request on the insecure port comes from (the secure port authenticates in filters.ts). Every request there
// is allowed, as on Kubernetes' old insecure port, whose requests ran as `system:unsecured` in `system:masters`; a
// request bearing a service-account token this apiserver issued (and whose service account and bound object still
// exist) is that service account. Any other credential is ignored, as everything else on the insecure port ignores it.
import type { UserInfo } from "../../api/types/index.js";
import type { StoreLookup } from "../registry/kind.js";
import type { ServiceAccountTokens, TokenClaims, TokenVerification } from "./service-account-tokens.js";

const INSECURE_USERNAME = "system:unsecured";
const INSECURE_GROUPS: readonly string[] = ["system:masters", "system:authenticated"];
export const INSECURE_USER: Readonly<UserInfo> = { username: INSECURE_USERNAME, groups: [...INSECURE_GROUPS] };

/** The user a request's Authorization header names; the insecure user when it names none this server knows. */
export async function requestUser(authorization: string | undefined, tokens: ServiceAccountTokens | undefined, storeFor: StoreLookup): Promise<UserInfo> {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  if (!bearer || !tokens) return insecureUser();
  const review = await reviewToken(bearer, [], tokens, storeFor);
  return review.authenticated ? userOf(review.claims) : insecureUser();
}

/** A fresh copy of INSECURE_USER for one request (a plain copy: structuredClone costs more than the rest of it). */
export function insecureUser(): UserInfo {
  return { username: INSECURE_USERNAME, groups: [...INSECURE_GROUPS] };
}

/** Verifies a token as TokenReview does: signature and claims, then the service account and bound object still existing with their uids. */
export async function reviewToken(token: string, audiences: readonly string[], tokens: ServiceAccountTokens, storeFor: StoreLookup): Promise<TokenVerification> {
  const verified = tokens.verify(token, audiences);
  if (!verified.authenticated) return verified;
  const k8s = verified.claims["kubernetes.io"];
  const checks: [string, string, string | undefined, { name: string; uid: string } | undefined][] = [
    ["serviceaccounts", "service account", k8s.namespace, k8s.serviceaccount],
    ["pods", "pod", k8s.namespace, k8s.pod],
    ["secrets", "secret", k8s.namespace, k8s.secret],
  ];
  for (const [resource, what, namespace, ref] of checks) {
    if (!ref) continue;
    const store = storeFor("", "v1", resource);
    const current = await store?.get(namespace, ref.name).catch(() => undefined);
    if (!current) return { authenticated: false, error: `invalid bearer token, ${what} ${namespace ?? ""}/${ref.name} has been deleted` };
    if (current.metadata.uid !== ref.uid) return { authenticated: false, error: `invalid bearer token, ${what} UID (${current.metadata.uid ?? ""}) does not match claim (${ref.uid})` };
  }
  return verified;
}

/** The user a verified service-account token stands for, with the extras Kubernetes adds. */
export function userOf(claims: TokenClaims): UserInfo {
  const k8s = claims["kubernetes.io"];
  const extra: Record<string, string[]> = { "authentication.kubernetes.io/credential-id": [`JTI=${claims.jti}`] };
  if (k8s.pod) {
    extra["authentication.kubernetes.io/pod-name"] = [k8s.pod.name];
    extra["authentication.kubernetes.io/pod-uid"] = [k8s.pod.uid];
  }
  if (k8s.node) {
    extra["authentication.kubernetes.io/node-name"] = [k8s.node.name];
    extra["authentication.kubernetes.io/node-uid"] = [k8s.node.uid];
  }
  return {
    username: claims.sub,
    uid: k8s.serviceaccount.uid,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${k8s.namespace}`, "system:authenticated"],
    extra,
  };
}
