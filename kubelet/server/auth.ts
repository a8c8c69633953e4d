// Who may use the kubelet API on --port, as Kubernetes' kubelet decides it (its auth filter over every path of
// that port; /healthz on --healthz-port stays open): authentication first — an x509 client certificate verified
// against --client-ca-file (CN the user, O the groups), a bearer token checked with a TokenReview through the
// kubelet's apiserver client (--authentication-token-webhook), else system:anonymous when --anonymous-auth allows
// it; a credential that is presented and does not check out is a 401 even with anonymous on. Then authorization:
// AlwaysAllow, or Webhook, a SubjectAccessReview for the node's resource the path maps to (nodes/stats,
// nodes/metrics, nodes/log, nodes/spec, nodes/checkpoint, everything else nodes/proxy), the verb from the HTTP
// method. Both webhooks' answers are cached as Kubernetes' kubelet does (tokens 2m; authorized 5m, unauthorized
// 30s); failures to reach the apiserver are not cached. All of that is component-base's delegated-auth.ts, shared
// with the secure ports of kube-scheduler and kube-controller-manager and with metrics-server; here are the
// kubelet's options and words.
import type { IncomingMessage } from "node:http";
import type { UserInfo } from "../../api/types/index.js";
import { subjectAccessReviewWebhook as sarWebhook } from "../../client/auth-reviews.js";
import type { RestClient } from "../../client/rest.js";
import type { Clock } from "../../component-base/clock.js";
import { DelegatedAuth, userKey, type AccessDecision, type TokenReviewer } from "../../component-base/delegated-auth.js";


/** Kubernetes' --authentication-token-webhook-cache-ttl default. */
export const TOKEN_CACHE_TTL_MS = 2 * 60_000;
/** Kubernetes' --authorization-webhook-cache-authorized-ttl and -unauthorized-ttl defaults. */
export const AUTHORIZED_CACHE_TTL_MS = 5 * 60_000;
export const UNAUTHORIZED_CACHE_TTL_MS = 30_000;

/** The authorization attributes of one kubelet API request: always resource=nodes, name=the node, group "". */
export interface KubeletRequestAttributes {
  user: UserInfo;
  verb: string;
  resource: "nodes";
  subresource: string;
  name: string;
  path: string;
}

const VERBS: Record<string, string> = { POST: "create", GET: "get", HEAD: "get", PUT: "update", PATCH: "patch", DELETE: "delete" };

const SUBRESOURCE_PREFIXES: readonly (readonly [string, string])[] = [
  ["/stats", "stats"],
  ["/metrics", "metrics"],
  ["/logs", "log"],
  ["/spec", "spec"],
  ["/checkpoint", "checkpoint"],
];

function isSubpath(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The kubelet's mapping of a request to node attributes (its auth.go): verb from the method, subresource from the path. */
export function requestAttributes(user: UserInfo, nodeName: string, method: string | undefined, path: string): KubeletRequestAttributes {
  const subresource = SUBRESOURCE_PREFIXES.find(([prefix]) => isSubpath(path, prefix))?.[1] ?? "proxy";
  return { user, verb: VERBS[(method ?? "").toUpperCase()] ?? "", resource: "nodes", subresource, name: nodeName, path };
}

/** Asks whether the attributes are allowed; throws when it cannot tell. */
export type AccessReviewer = (attributes: KubeletRequestAttributes) => Promise<AccessDecision>;

export interface KubeletAuthOptions {
  nodeName: string;
  /** --anonymous-auth: requests with no credential are system:anonymous (else 401). */
  anonymous: boolean;
  /** --client-ca-file was given: a client certificate the TLS server verified names the user. */
  clientCertificates: boolean;
  /** --authentication-token-webhook: bearer tokens are reviewed with this. */
  tokenReviewer?: TokenReviewer;
  /** --authorization-mode=Webhook: requests are authorized with this; AlwaysAllow without it. */
  accessReviewer?: AccessReviewer;
  clock?: Clock;
  tokenCacheTtlMs?: number;
  authorizedTtlMs?: number;
  unauthorizedTtlMs?: number;
}

/** The verdict on a request: go on as `user`, or answer with the kubelet's status code and plain-text message. */
export type AuthVerdict = { ok: true; user: UserInfo } | { ok: false; code: 401 | 403 | 500; message: string; reason: string };

/** The `Forbidden (user=..., verb=..., resource=..., subresource=...)` text the kubelet answers a denial with. */
export function forbiddenMessage(a: KubeletRequestAttributes): string {
  return `Forbidden (user=${a.user.username ?? ""}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})`;
}

/** The kubelet's options of component-base's DelegatedAuth, its refusals in the kubelet's plain-text words. */
export class KubeletAuth {
  private readonly auth: DelegatedAuth<KubeletRequestAttributes>;

  constructor(options: KubeletAuthOptions) {
    const reviewer = options.accessReviewer;
    this.auth = new DelegatedAuth<KubeletRequestAttributes>({
      anonymous: options.anonymous,
      clientCertificates: options.clientCertificates,
      ...(options.tokenReviewer ? { tokenReviewer: options.tokenReviewer } : {}),
      tokenCacheTtlMs: options.tokenCacheTtlMs ?? TOKEN_CACHE_TTL_MS,
      attributesOf: (user, req, path) => requestAttributes(user, options.nodeName, req.method, path),
      // AlwaysAllow without a reviewer.
      ...(reviewer ? { accessReviewer: (_user: UserInfo, a: KubeletRequestAttributes) => reviewer(a) } : {}),
      cacheKeyOf: (user, a) => JSON.stringify([...userKey(user), a.verb, a.subresource, a.name]),
      authorizedTtlMs: options.authorizedTtlMs ?? AUTHORIZED_CACHE_TTL_MS,
      unauthorizedTtlMs: options.unauthorizedTtlMs ?? UNAUTHORIZED_CACHE_TTL_MS,
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    });
  }

  /** Authenticates and authorizes one request to the kubelet API. */
  async check(req: IncomingMessage, path: string): Promise<AuthVerdict> {
    const verdict = await this.auth.check(req, path);
    if (verdict.ok) return verdict;
    if (verdict.code === 401) return { ok: false, code: 401, message: "Unauthorized", reason: verdict.reason };
    const a = verdict.attributes;
    if (verdict.code === 403) return { ok: false, code: 403, message: forbiddenMessage(a), reason: verdict.reason };
    return { ok: false, code: 500, message: `Authorization error (user=${a.user.username ?? ""}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})`, reason: verdict.reason };
  }
}

/** --authorization-mode=Webhook: a SubjectAccessReview for the node attributes, through the kubelet's client. */
export function subjectAccessReviewWebhook(client: RestClient): AccessReviewer {
  const review = sarWebhook(client);
  return (a) => review(a.user, { resourceAttributes: { namespace: "", verb: a.verb, group: "", version: "v1", resource: a.resource, subresource: a.subresource, name: a.name } });
}
