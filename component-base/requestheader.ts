// The front-proxy ("requestheader") authentication of Kubernetes' aggregation layer, shared by the apiserver and
// the servers behind it (metrics-server). A request whose TLS client certificate chains to the requestheader CA
// (--requestheader-client-ca-file) and whose CN is one of --requestheader-allowed-names (any CN when that list is
// empty) is the user its headers name: the first non-empty --requestheader-username-headers header, every value of
// the --requestheader-group-headers, and each header starting with an --requestheader-extra-headers-prefix as an
// extra (key lower-cased and %-unescaped). The headers it read are removed from the request, as Kubernetes clears
// them. The other side of the contract, what a front proxy sends (setAuthProxyHeaders), is here too.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { TLSSocket } from "node:tls";
import type { X509Certificate } from "node:crypto";
import { parseCertificateBundle, peerCertificateChain, verifyClientChain } from "./pki/verify.js";

export interface RequestHeaderConfig {
  /** PEM bundle the front proxy's client certificate must chain to. */
  clientCaPem: string;
  /** CNs allowed to assert users; empty allows any certificate the CA signed. */
  allowedNames: readonly string[];
  usernameHeaders: readonly string[];
  groupHeaders: readonly string[];
  extraHeadersPrefixes: readonly string[];
}

/** The user a front proxy asserted (assignable to the API's UserInfo). */
export interface ProxiedUser {
  username: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** A user; the reason a front-proxy certificate was not accepted (`error`); undefined when the request asserts none. */
export type RequestHeaderResult = { user: ProxiedUser } | { error: string } | undefined;

/** The headers Kubernetes' aggregator sends (and the defaults of delegated authentication: x-remote-user, …). */
export const AUTH_PROXY_HEADERS = { username: "X-Remote-User", group: "X-Remote-Group", extraPrefix: "X-Remote-Extra-" } as const;

export class RequestHeaderAuthenticator {
  private readonly roots: X509Certificate[];

  constructor(private readonly config: RequestHeaderConfig) {
    this.roots = parseCertificateBundle(config.clientCaPem);
    if (this.roots.length === 0) throw new Error("the requestheader client CA bundle holds no certificate");
  }

  /**
   * Kubernetes' order: a client certificate that is not the front proxy's is an error (the next authenticator may
   * still accept it), a front-proxy certificate without a username header is no opinion (undefined).
   */
  authenticate(req: IncomingMessage, now: Date = new Date()): RequestHeaderResult {
    const socket = req.socket;
    if (!(socket instanceof TLSSocket)) return undefined;
    const chain = peerCertificateChain(socket);
    const leaf = chain[0];
    if (leaf === undefined) return undefined;
    const invalid = verifyClientChain(chain, this.roots, now);
    if (invalid !== undefined) return { error: `verifying certificate SN=${leaf.serialNumber}: ${invalid}` };
    const commonName = commonNameOf(socket);
    if (this.config.allowedNames.length > 0 && !this.config.allowedNames.includes(commonName)) {
      return { error: `x509: subject with cn=${commonName} is not in the allowed list` };
    }
    const user = userFromHeaders(req.headersDistinct, this.config);
    if (user === undefined) return undefined;
    clearAuthenticationHeaders(req.headers, this.config, Object.keys(user.extra));
    return { user };
  }
}

/**
 * The user named by `headers` (each header's lines apart, node's headersDistinct; a line is one value, as in Go)
 * under `config`'s header names; undefined without a username.
 */
export function userFromHeaders(headers: Readonly<Record<string, readonly string[] | undefined>>, config: Pick<RequestHeaderConfig, "usernameHeaders" | "groupHeaders" | "extraHeadersPrefixes">): ProxiedUser | undefined {
  const username = config.usernameHeaders.map((name) => headerValues(headers, name)[0] ?? "").find((value) => value !== "");
  if (username === undefined) return undefined;
  const groups = config.groupHeaders.flatMap((name) => headerValues(headers, name)).filter((value) => value !== "");
  const extra: Record<string, string[]> = {};
  for (const prefix of config.extraHeadersPrefixes) {
    const lowerPrefix = prefix.toLowerCase();
    for (const name of Object.keys(headers)) {
      if (!name.startsWith(lowerPrefix)) continue;
      const key = unescapeExtraKey(name.slice(lowerPrefix.length));
      (extra[key] ??= []).push(...headerValues(headers, name));
    }
  }
  return { username, groups, extra };
}

/**
 * What a front proxy sends for `user` (Kubernetes' SetAuthProxyHeaders): any X-Remote-* header already in
 * `headers` (the client's own, never to be trusted) is dropped first.
 */
export function setAuthProxyHeaders(headers: OutgoingHttpHeaders, user: { username?: string; groups?: readonly string[]; extra?: Readonly<Record<string, readonly string[]>> }): void {
  dropAuthProxyHeaders(headers);
  headers[AUTH_PROXY_HEADERS.username] = user.username ?? "";
  if (user.groups !== undefined && user.groups.length > 0) headers[AUTH_PROXY_HEADERS.group] = [...user.groups];
  for (const [key, values] of Object.entries(user.extra ?? {})) {
    if (values.length > 0) headers[`${AUTH_PROXY_HEADERS.extraPrefix}${escapeExtraKey(key)}`] = [...values];
  }
}

function headerValues(headers: Readonly<Record<string, readonly string[] | undefined>>, name: string): readonly string[] {
  return headers[name.toLowerCase()] ?? [];
}

function clearAuthenticationHeaders(headers: IncomingHttpHeaders, config: RequestHeaderConfig, extraKeys: readonly string[]): void {
  for (const name of [...config.usernameHeaders, ...config.groupHeaders]) Reflect.deleteProperty(headers, name.toLowerCase());
  for (const name of Object.keys(headers)) {
    if (config.extraHeadersPrefixes.some((prefix) => name.startsWith(prefix.toLowerCase()) && extraKeys.includes(unescapeExtraKey(name.slice(prefix.length))))) Reflect.deleteProperty(headers, name);
  }
}

function commonNameOf(socket: TLSSocket): string {
  const cn: unknown = socket.getPeerCertificate().subject.CN;
  if (Array.isArray(cn)) return typeof cn[0] === "string" ? cn[0] : "";
  return typeof cn === "string" ? cn : "";
}

/** Removes X-Remote-User, X-Remote-Group and X-Remote-Extra-* (any case) from `headers`. */
export function dropAuthProxyHeaders(headers: OutgoingHttpHeaders): void {
  const extraPrefix = AUTH_PROXY_HEADERS.extraPrefix.toLowerCase();
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower === "x-remote-user" || lower === "x-remote-group" || lower.startsWith(extraPrefix)) Reflect.deleteProperty(headers, name);
  }
}

/** Header names are tokens: an extra's key is %-encoded where it has other bytes (and '%'), as client-go does. */
export function escapeExtraKey(key: string): string {
  let out = "";
  for (const byte of Buffer.from(key, "utf8")) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && /[A-Za-z0-9!#$&'*+\-.^_`|~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function unescapeExtraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded.toLowerCase());
  } catch {
    return encoded.toLowerCase(); // kept, malformed or not, as Kubernetes keeps it
  }
}
