// Who may use the kubelet API on --port, as Kubernetes' kubelet decides it (its auth filter over every path of
// that port; /healthz on --healthz-port stays open): authentication first — an x509 client certificate verified
// against --client-ca-file (CN the user, O the groups), a bearer token checked with a TokenReview through the
// kubelet's apiserver client (--authentication-token-webhook), else system:anonymous when --anonymous-auth allows
// it; a credential that is presented and does not check out is a 401 even with anonymous on. Then authorization:
// AlwaysAllow, or Webhook, a SubjectAccessReview for the node's resource the path maps to (nodes/stats,
// nodes/metrics, nodes/log, nodes/spec, nodes/checkpoint, everything else nodes/proxy), the verb from the HTTP
// method. Both webhooks' answers are cached as Kubernetes' kubelet does (tokens 2m; authorized 5m, unauthorized
// 30s); failures to reach the apiserver are not cached.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";
import { RESOURCES } from "../../api/resources.js";
import type { SubjectAccessReview, SubjectAccessReviewSpec, TokenReview, UserInfo } from "../../api/types/index.js";
import type { RestClient } from "../../client/rest.js";
import { realClock, type Clock } from "../../component-base/clock.js";

export const ANONYMOUS_USER = "system:anonymous";
export const UNAUTHENTICATED_GROUP = "system:unauthenticated";
export const AUTHENTICATED_GROUP = "system:authenticated";

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

/** Checks a bearer token: the user, or undefined when the token is not valid; throws when it cannot tell. */
export type TokenReviewer = (token: string) => Promise<{ user: UserInfo } | { error: string }>;

/** Asks whether the attributes are allowed; throws when it cannot tell. */
export type AccessReviewer = (attributes: KubeletRequestAttributes) => Promise<{ allowed: boolean; reason: string }>;

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

class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  constructor(private readonly clock: Clock) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    // Expired entries are dropped as the cache grows, so a stream of one-off tokens does not keep memory.
    if (this.entries.size >= 4096) for (const [k, e] of this.entries) if (e.expires <= this.clock.now()) this.entries.delete(k);
    this.entries.set(key, { value, expires: this.clock.now() + ttlMs });
  }
}

function withAuthenticatedGroup(user: UserInfo): UserInfo {
  const groups = user.groups ?? [];
  return groups.includes(AUTHENTICATED_GROUP) ? user : { ...user, groups: [...groups, AUTHENTICATED_GROUP] };
}

/** The user a verified client certificate names: CN the user, each O a group. */
export function userFromCertificate(subject: { CN?: string | string[]; O?: string | string[] }): UserInfo | undefined {
  const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const name = list(subject.CN)[0];
  if (name === undefined || name === "") return undefined;
  return { username: name, groups: list(subject.O) };
}

/** The `Forbidden (user=..., verb=..., resource=..., subresource=...)` text the kubelet answers a denial with. */
export function forbiddenMessage(a: KubeletRequestAttributes): string {
  return `Forbidden (user=${a.user.username ?? ""}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})`;
}

export class KubeletAuth {
  private readonly clock: Clock;
  private readonly tokens: TtlCache<{ user: UserInfo } | { error: string }>;
  private readonly decisions: TtlCache<{ allowed: boolean; reason: string }>;

  constructor(private readonly options: KubeletAuthOptions) {
    this.clock = options.clock ?? realClock;
    this.tokens = new TtlCache(this.clock);
    this.decisions = new TtlCache(this.clock);
  }

  /** The request's user; undefined for no credential and no anonymous access; throws for a bad credential. */
  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const socket = req.socket;
    if (this.options.clientCertificates && socket instanceof TLSSocket) {
      const peer = socket.getPeerCertificate();
      if (Object.keys(peer).length > 0) {
        if (!socket.authorized) throw new Error(`verifying certificate: ${String(socket.authorizationError)}`);
        const user = userFromCertificate(peer.subject);
        if (user !== undefined) return withAuthenticatedGroup(user);
      }
    }
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match && this.options.tokenReviewer) {
      const result = await this.reviewToken(match[1]!);
      if ("error" in result) throw new Error(result.error);
      return withAuthenticatedGroup(result.user);
    }
    if (this.options.anonymous) return { username: ANONYMOUS_USER, groups: [UNAUTHENTICATED_GROUP] };
    return undefined;
  }

  private async reviewToken(token: string): Promise<{ user: UserInfo } | { error: string }> {
    const key = createHash("sha256").update(token).digest("hex");
    const cached = this.tokens.get(key);
    if (cached !== undefined) return cached;
    const result = await this.options.tokenReviewer!(token);
    this.tokens.set(key, result, this.options.tokenCacheTtlMs ?? TOKEN_CACHE_TTL_MS);
    return result;
  }

  private async authorize(a: KubeletRequestAttributes): Promise<{ allowed: boolean; reason: string }> {
    const reviewer = this.options.accessReviewer;
    if (!reviewer) return { allowed: true, reason: "" };
    const key = JSON.stringify([a.user.username, a.user.uid, [...(a.user.groups ?? [])].sort(), a.user.extra ?? {}, a.verb, a.subresource, a.name]);
    const cached = this.decisions.get(key);
    if (cached !== undefined) return cached;
    const decision = await reviewer(a);
    this.decisions.set(key, decision, decision.allowed ? (this.options.authorizedTtlMs ?? AUTHORIZED_CACHE_TTL_MS) : (this.options.unauthorizedTtlMs ?? UNAUTHORIZED_CACHE_TTL_MS));
    return decision;
  }

  /** Authenticates and authorizes one request to the kubelet API. */
  async check(req: IncomingMessage, path: string): Promise<AuthVerdict> {
    let user: UserInfo | undefined;
    try {
      user = await this.authenticate(req);
    } catch (err) {
      return { ok: false, code: 401, message: "Unauthorized", reason: err instanceof Error ? err.message : String(err) };
    }
    if (user === undefined) return { ok: false, code: 401, message: "Unauthorized", reason: "no credentials and anonymous access is off" };
    const attributes = requestAttributes(user, this.options.nodeName, req.method, path);
    const summary = `(user=${user.username ?? ""}, verb=${attributes.verb}, resource=${attributes.resource}, subresource=${attributes.subresource})`;
    try {
      const decision = await this.authorize(attributes);
      if (!decision.allowed) return { ok: false, code: 403, message: forbiddenMessage(attributes), reason: decision.reason };
    } catch (err) {
      return { ok: false, code: 500, message: `Authorization error ${summary}`, reason: err instanceof Error ? err.message : String(err) };
    }
    return { ok: true, user };
  }
}

const TOKEN_REVIEWS = RESOURCES.find((r) => r.group === "authentication.k8s.io" && r.resource === "tokenreviews")!;
const SUBJECT_ACCESS_REVIEWS = RESOURCES.find((r) => r.group === "authorization.k8s.io" && r.resource === "subjectaccessreviews")!;

/** --authentication-token-webhook: a TokenReview through the kubelet's apiserver client. */
export function tokenReviewWebhook(client: RestClient): TokenReviewer {
  return async (token) => {
    const review = await client.create<TokenReview>(TOKEN_REVIEWS, undefined, { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", metadata: {}, spec: { token } });
    const status = review.status ?? {};
    if (status.authenticated === true && status.user?.username) return { user: status.user };
    return { error: status.error !== undefined && status.error !== "" ? status.error : "invalid bearer token" };
  };
}

/** --authorization-mode=Webhook: a SubjectAccessReview through the kubelet's apiserver client. */
export function subjectAccessReviewWebhook(client: RestClient): AccessReviewer {
  return async (a) => {
    const spec: SubjectAccessReviewSpec = {
      resourceAttributes: { namespace: "", verb: a.verb, group: "", version: "v1", resource: a.resource, subresource: a.subresource, name: a.name },
      user: a.user.username ?? "",
      groups: a.user.groups ?? [],
      ...(a.user.uid !== undefined ? { uid: a.user.uid } : {}),
      ...(a.user.extra !== undefined ? { extra: a.user.extra } : {}),
    };
    const review = await client.create<SubjectAccessReview>(SUBJECT_ACCESS_REVIEWS, undefined, { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", metadata: {}, spec });
    const status = review.status ?? {};
    return { allowed: status.allowed === true && status.denied !== true, reason: status.reason ?? "" };
  };
}
