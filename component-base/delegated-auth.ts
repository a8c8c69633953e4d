// Authentication and authorization delegated to the apiserver (Kubernetes' DelegatingAuthenticatorConfig and
// DelegatingAuthorizerConfig), one implementation for every serving port that checks who calls it: the kubelet API
// (kubelet/server/auth.ts, resource attributes on nodes), the secure ports of kube-scheduler and
// kube-controller-manager (secure-serving.ts, non-resource paths such as /metrics) and metrics-server's HTTPS port
// (metrics-server/auth.ts, metrics.k8s.io resources behind the aggregator's front proxy). What differs between them
// is an option of DelegatedAuth: anonymous access, which authenticators are on, how a request maps to the attributes
// the apiserver is asked about, the cache TTLs, always-allowed paths and groups. How a refusal is answered is the
// caller's (a Status body, delegated-auth-status.ts; the kubelet's plain text).
//
// Authentication, in Kubernetes' order: the front proxy's certificate and X-Remote-* headers (requestheader.ts),
// an x509 client certificate verified against the client CA (CN the user, O the groups), then a bearer token the
// apiserver reviews (TokenReview), else system:anonymous when anonymous access is on. A credential that is presented
// and does not check out is a failure (401), even with anonymous on. Then authorization: always-allowed paths and
// groups without asking, AlwaysAllow without a reviewer, else a SubjectAccessReview-like question. Answers to
// reviews are cached by TTL; a failure to reach the apiserver is not cached. The reviewers themselves (which talk to
// the apiserver) are functions handed in: client/auth-reviews.ts makes them from a RestClient.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";
import { realClock, type Clock } from "./clock.js";
import { RequestHeaderAuthenticator, type RequestHeaderConfig } from "./requestheader.js";

export const ANONYMOUS_USER = "system:anonymous";
export const UNAUTHENTICATED_GROUP = "system:unauthenticated";
export const AUTHENTICATED_GROUP = "system:authenticated";

/** Who made a request, as a TokenReview's status.user and a SubjectAccessReview's spec name it. */
export interface RequestUser {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Checks a bearer token: the user, or an error text when the token is not valid; throws when it cannot tell. */
export type TokenReviewer = (token: string) => Promise<{ user: RequestUser } | { error: string }>;

/** An authorization decision as a SubjectAccessReview's status gives it. */
export interface AccessDecision {
  allowed: boolean;
  reason: string;
}

/** A map whose entries expire `ttlMs` after they were set; a TTL of 0 or less caches nothing. */
export class TtlCache<V> {
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

/** The user with system:authenticated among its groups (what Kubernetes adds to every authenticated identity). */
export function withAuthenticatedGroup(user: RequestUser): RequestUser {
  const groups = user.groups ?? [];
  return groups.includes(AUTHENTICATED_GROUP) ? user : { ...user, groups: [...groups, AUTHENTICATED_GROUP] };
}

/** The user a verified client certificate names: CN the user, each O a group. */
export function userFromCertificate(subject: { CN?: string | string[]; O?: string | string[] }): RequestUser | undefined {
  const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const name = list(subject.CN)[0];
  if (name === undefined || name === "") return undefined;
  return { username: name, groups: list(subject.O) };
}

/** A cache key for a user: every field that can change an authorization decision. */
export function userKey(user: RequestUser): unknown[] {
  return [user.username, user.uid, [...(user.groups ?? [])].sort(), user.extra ?? {}];
}

export interface RequestAuthenticatorOptions {
  /** Requests with no credential are system:anonymous (else they are unauthenticated: undefined). */
  anonymous: boolean;
  /**
   * Front-proxy authentication, tried first. Its certificate must reach the authenticator: the TLS server asks for
   * certificates against this CA too (clientCaPem), without rejecting unverified ones.
   */
  requestHeader?: RequestHeaderConfig;
  /**
   * A client certificate the TLS server verified names the user. The server must ask for certificates against the
   * client CA without rejecting unverified ones: those are refused here (a 401, not a TLS alert).
   */
  clientCertificates: boolean;
  /** Bearer tokens are reviewed with this; without it a bearer token is ignored (anonymous, if allowed). */
  tokenReviewer?: TokenReviewer;
  /** How long a token review's answer is kept. */
  tokenCacheTtlMs: number;
  clock?: Clock;
}

/** The identity of a request, from its client certificate or bearer token (see the file comment). */
export class RequestAuthenticator {
  private readonly tokens: TtlCache<{ user: RequestUser } | { error: string }>;
  private readonly requestHeader: RequestHeaderAuthenticator | undefined;

  constructor(private readonly options: RequestAuthenticatorOptions) {
    this.tokens = new TtlCache(options.clock ?? realClock);
    this.requestHeader = options.requestHeader && new RequestHeaderAuthenticator(options.requestHeader);
  }

  /** The request's user; undefined for no credential and no anonymous access; throws for a bad credential. */
  async authenticate(req: IncomingMessage): Promise<RequestUser | undefined> {
    // A certificate that is not the front proxy's may still be a client certificate or come with a token; when
    // nothing else names the user, the front proxy's refusal stands (Kubernetes' union, failing on error).
    const proxied = this.requestHeader?.authenticate(req);
    if (proxied !== undefined && "user" in proxied) return withAuthenticatedGroup(proxied.user);
    const user = await this.authenticateDirect(req);
    if (proxied !== undefined && (user === undefined || user.username === ANONYMOUS_USER)) throw new Error(proxied.error);
    return user;
  }

  private async authenticateDirect(req: IncomingMessage): Promise<RequestUser | undefined> {
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
      const result = await this.reviewToken(this.options.tokenReviewer, match[1]!);
      if ("error" in result) throw new Error(result.error);
      return withAuthenticatedGroup(result.user);
    }
    if (this.options.anonymous) return { username: ANONYMOUS_USER, groups: [UNAUTHENTICATED_GROUP] };
    return undefined;
  }

  private async reviewToken(reviewer: TokenReviewer, token: string): Promise<{ user: RequestUser } | { error: string }> {
    // Tokens are kept hashed: a heap dump of the cache does not hand out credentials.
    const key = createHash("sha256").update(token).digest("hex");
    const cached = this.tokens.get(key);
    if (cached !== undefined) return cached;
    const result = await reviewer(token);
    this.tokens.set(key, result, this.options.tokenCacheTtlMs);
    return result;
  }
}

/** An authorizer asking the apiserver about attributes `A`, its decisions cached (allowed and denied apart). */
export class CachedAccessReviewer<A> {
  private readonly decisions: TtlCache<AccessDecision>;

  constructor(
    private readonly review: (attributes: A) => Promise<AccessDecision>,
    private readonly options: { keyOf: (attributes: A) => string; authorizedTtlMs: number; unauthorizedTtlMs: number; clock?: Clock },
  ) {
    this.decisions = new TtlCache(options.clock ?? realClock);
  }

  /** The decision; throws (uncached) when the apiserver cannot be asked. */
  async authorize(attributes: A): Promise<AccessDecision> {
    const key = this.options.keyOf(attributes);
    const cached = this.decisions.get(key);
    if (cached !== undefined) return cached;
    const decision = await this.review(attributes);
    this.decisions.set(key, decision, decision.allowed ? this.options.authorizedTtlMs : this.options.unauthorizedTtlMs);
    return decision;
  }
}

/** A path matcher for --authorization-always-allow-paths: exact paths, and prefixes written with a trailing `*`. */
export function alwaysAllowPathMatcher(values: readonly string[]): (path: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const value of values.flatMap((v) => v.split(",")).map((v) => v.trim())) {
    if (value === "") continue;
    const path = value.replace(/^\/+/, "");
    if (path.slice(0, -1).includes("*")) throw new Error(`--authorization-always-allow-paths: only trailing * allowed in "${value}"`);
    if (path.endsWith("*")) prefixes.push(path.slice(0, -1));
    else exact.add(path);
  }
  return (requestPath) => {
    const path = requestPath.replace(/^\/+/, "");
    return exact.has(path) || prefixes.some((p) => path.startsWith(p));
  };
}

/** Asks the apiserver whether `user` may do what `attributes` describe; throws when it cannot tell. */
export type AccessReviewer<A> = (user: RequestUser, attributes: A) => Promise<AccessDecision>;

export interface DelegatedAuthOptions<A> extends Omit<RequestAuthenticatorOptions, "clock"> {
  /** The attributes authorization asks about for one request (`path` is its URL path). */
  attributesOf: (user: RequestUser, req: IncomingMessage, path: string) => A;
  /** Asks the apiserver (Kubernetes' Webhook authorizer); without one every request is allowed (AlwaysAllow). */
  accessReviewer?: AccessReviewer<A>;
  /** The decision cache's key for a question; default: the user's every field and the attributes. */
  cacheKeyOf?: (user: RequestUser, attributes: A) => string;
  authorizedTtlMs: number;
  unauthorizedTtlMs: number;
  /** Paths any caller may use without a review (--authorization-always-allow-paths; a trailing * is a prefix). */
  alwaysAllowPaths?: readonly string[];
  /** Members of these groups may do anything without a review (system:masters on the secure ports). */
  alwaysAllowGroups?: readonly string[];
  clock?: Clock;
}

/** The verdict on one request: serve it as `user`, or refuse it with the status code Kubernetes uses. */
export type DelegatedAuthVerdict<A> =
  | { ok: true; user: RequestUser }
  | { ok: false; code: 401; reason: string }
  | { ok: false; code: 403 | 500; user: RequestUser; attributes: A; reason: string };

/** Authentication, then authorization, of one request (see the file comment); answers nothing itself. */
export class DelegatedAuth<A> {
  private readonly authenticator: RequestAuthenticator;
  private readonly authorizer: CachedAccessReviewer<{ user: RequestUser; attributes: A }> | undefined;
  private readonly alwaysAllowedPath: (path: string) => boolean;
  private readonly alwaysAllowGroups: readonly string[];

  constructor(private readonly options: DelegatedAuthOptions<A>) {
    const clock = options.clock !== undefined ? { clock: options.clock } : {};
    this.authenticator = new RequestAuthenticator({
      anonymous: options.anonymous,
      ...(options.requestHeader ? { requestHeader: options.requestHeader } : {}),
      clientCertificates: options.clientCertificates,
      ...(options.tokenReviewer ? { tokenReviewer: options.tokenReviewer } : {}),
      tokenCacheTtlMs: options.tokenCacheTtlMs,
      ...clock,
    });
    const review = options.accessReviewer;
    const keyOf = options.cacheKeyOf ?? ((user: RequestUser, attributes: A) => JSON.stringify([...userKey(user), attributes]));
    this.authorizer =
      review &&
      new CachedAccessReviewer((q: { user: RequestUser; attributes: A }) => review(q.user, q.attributes), {
        keyOf: (q) => keyOf(q.user, q.attributes),
        authorizedTtlMs: options.authorizedTtlMs,
        unauthorizedTtlMs: options.unauthorizedTtlMs,
        ...clock,
      });
    this.alwaysAllowedPath = alwaysAllowPathMatcher(options.alwaysAllowPaths ?? []);
    this.alwaysAllowGroups = options.alwaysAllowGroups ?? [];
  }

  /** The verdict on `req`; `path` defaults to its URL's path. Never throws. */
  async check(req: IncomingMessage, path: string = new URL(req.url ?? "/", "http://localhost").pathname): Promise<DelegatedAuthVerdict<A>> {
    let user: RequestUser | undefined;
    try {
      user = await this.authenticator.authenticate(req);
    } catch (err) {
      return { ok: false, code: 401, reason: err instanceof Error ? err.message : String(err) };
    }
    if (user === undefined) return { ok: false, code: 401, reason: "no credentials and anonymous access is off" };
    if (this.alwaysAllowedPath(path) || (user.groups ?? []).some((g) => this.alwaysAllowGroups.includes(g))) return { ok: true, user };
    if (this.authorizer === undefined) return { ok: true, user };
    const attributes = this.options.attributesOf(user, req, path);
    try {
      const decision = await this.authorizer.authorize({ user, attributes });
      if (decision.allowed) return { ok: true, user };
      return { ok: false, code: 403, user, attributes, reason: decision.reason };
    } catch (err) {
      return { ok: false, code: 500, user, attributes, reason: err instanceof Error ? err.message : String(err) };
    }
  }
}
