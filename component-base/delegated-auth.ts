// Authentication and authorization delegated to the apiserver, shared by every serving port that checks who calls
// it: the kubelet API (kubelet/server/auth.ts, resource attributes on nodes) and the secure ports of kube-scheduler
// and kube-controller-manager (secure-serving.ts, non-resource paths such as /metrics).
//
// Authentication, in Kubernetes' order: an x509 client certificate verified against the client CA (CN the user, O
// the groups), then a bearer token the apiserver reviews (TokenReview), else system:anonymous when anonymous access
// is on. A credential that is presented and does not check out is a failure (401), even with anonymous on. Answers
// to reviews are cached by TTL; a failure to reach the apiserver is not cached. The reviewers themselves (which
// talk to the apiserver) are functions handed in: client/auth-reviews.ts makes them from a RestClient.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";
import { realClock, type Clock } from "./clock.js";

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

  constructor(private readonly options: RequestAuthenticatorOptions) {
    this.tokens = new TtlCache(options.clock ?? realClock);
  }

  /** The request's user; undefined for no credential and no anonymous access; throws for a bad credential. */
  async authenticate(req: IncomingMessage): Promise<RequestUser | undefined> {
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
