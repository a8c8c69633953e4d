// Authentication on the secure port, as Kubernetes' union of request authenticators: a front proxy's client
// certificate with the user in its headers (--requestheader-*), a client certificate verified
// against --client-ca-file (CN = user, O = groups), then a bearer token (--token-auth-file, then this apiserver's
// service-account tokens). The first that succeeds decides. A credential that is presented and fails makes the
// request 401 even with anonymous auth on; no credential at all is system:anonymous (--anonymous-auth) or 401.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";
import type { UserInfo } from "../../api/types/index.js";
import { parseCertificateBundle, peerCertificateChain, verifyClientChain } from "../../component-base/pki/verify.js";
import { RequestHeaderAuthenticator, type RequestHeaderConfig } from "../../component-base/requestheader.js";

/** A user, a presented credential that failed (`error`), or undefined when the request carries none it reads. */
export type AuthenticationResult = { user: UserInfo } | { error: string } | undefined;

export interface RequestAuthenticator {
  authenticate(req: IncomingMessage): AuthenticationResult | Promise<AuthenticationResult>;
}

export type TokenAuthenticator = (token: string) => AuthenticationResult | Promise<AuthenticationResult>;

export const ANONYMOUS_USER: Readonly<UserInfo> = { username: "system:anonymous", groups: ["system:unauthenticated"] };
export const AUTHENTICATED_GROUP = "system:authenticated";
export const CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id";

/**
 * The client certificate of a TLS connection whose server asked for one (requestCert) without refusing unverified
 * ones, verified against `clientCaPem` (--client-ca-file) itself: the server also trusts the front-proxy CA, whose
 * certificates only assert users through the requestheader authenticator.
 */
export function clientCertificateAuthenticator(clientCaPem: string): RequestAuthenticator {
  const roots = parseCertificateBundle(clientCaPem);
  return {
    authenticate(req) {
      const socket = req.socket;
      if (!(socket instanceof TLSSocket)) return undefined;
      const cert = socket.getPeerCertificate();
      if (Object.keys(cert).length === 0) return undefined;
      const invalid = verifyClientChain(peerCertificateChain(socket), roots);
      if (invalid !== undefined) return { error: `verifying certificate SN=${cert.serialNumber}: ${invalid}` };
      const commonName = valuesOf(cert.subject.CN)[0] ?? "";
      if (commonName === "") return { error: "the client certificate has no common name" };
      return {
        user: {
          username: commonName,
          groups: valuesOf(cert.subject.O),
          extra: { [CREDENTIAL_ID_KEY]: [`X509SHA256=${createHash("sha256").update(cert.raw).digest("hex")}`] },
        },
      };
    },
  };
}

/** --requestheader-*: the front proxy's asserted user (component-base/requestheader.ts), first in the chain as in Kubernetes. */
export function requestHeaderAuthenticator(config: RequestHeaderConfig): RequestAuthenticator {
  const authenticator = new RequestHeaderAuthenticator(config);
  return { authenticate: (req) => authenticator.authenticate(req) };
}

/** node:tls gives one subject value as a string and several as an array. */
function valuesOf(field: unknown): string[] {
  if (Array.isArray(field)) return field.filter((v): v is string => typeof v === "string");
  return typeof field === "string" ? [field] : [];
}

/** `Authorization: Bearer <token>` asked of each token authenticator in turn; a token none accepts is an error. */
export function bearerTokenAuthenticator(authenticators: readonly TokenAuthenticator[]): RequestAuthenticator {
  return {
    async authenticate(req) {
      const token = bearerToken(req.headers.authorization);
      if (token === undefined) return undefined;
      const errors: string[] = [];
      for (const authenticator of authenticators) {
        const result = await authenticator(token);
        if (result === undefined) continue;
        if ("user" in result) return result;
        errors.push(result.error);
      }
      return { error: errors.length > 0 ? errors.join(", ") : "invalid bearer token" };
    },
  };
}

/** The token of a Bearer Authorization header; undefined for no header, another scheme, or an empty token. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}

/** A token from --token-auth-file: exact match, no opinion on any other token. */
export function staticTokenAuthenticator(users: ReadonlyMap<string, UserInfo>): TokenAuthenticator {
  return (token) => {
    const user = users.get(token);
    return user ? { user: structuredClone(user) } : undefined;
  };
}

export interface UnionOptions {
  anonymous: boolean;
}

/** The secure port's user: the first authenticator's user, 401 (`error`) for a failed credential or none without anonymous auth. */
export async function authenticateRequest(req: IncomingMessage, authenticators: readonly RequestAuthenticator[], options: UnionOptions): Promise<{ user: UserInfo } | { error: string }> {
  const errors: string[] = [];
  for (const authenticator of authenticators) {
    const result = await authenticator.authenticate(req);
    if (result === undefined) continue;
    if ("user" in result) return { user: withAuthenticatedGroup(result.user) };
    errors.push(result.error);
  }
  if (errors.length > 0) return { error: errors.join("; ") };
  if (options.anonymous) return { user: structuredClone(ANONYMOUS_USER) };
  return { error: "no credentials presented and anonymous auth is disabled" };
}

/** Every authenticated user is in system:authenticated, as Kubernetes' AuthenticatedGroupAdder makes it. */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  const groups = user.groups ?? [];
  return groups.includes(AUTHENTICATED_GROUP) ? user : { ...user, groups: [...groups, AUTHENTICATED_GROUP] };
}
