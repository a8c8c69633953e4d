// The secure port of kube-scheduler (10259) and kube-controller-manager (10257), as Kubernetes serves it: HTTPS
// with the serving pair from --tls-cert-file/--tls-private-key-file, or a self-signed one (kept in --cert-dir when
// given, else in memory); every request authenticated (delegated-auth.ts: client certificate against the client
// CA, bearer token by TokenReview, else system:anonymous) and authorized (--authorization-always-allow-paths and
// the group system:masters without asking, everything else a SubjectAccessReview for the non-resource path, the
// verb the lowercased HTTP method). Refusals are Kubernetes' Status bodies: 401 Unauthorized for a credential that
// does not check out, 403 Forbidden `forbidden: User "system:anonymous" cannot get path "/metrics"`, 500 when the
// apiserver cannot be asked.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import { join } from "node:path";
import type { Clock } from "./clock.js";
import { CachedAccessReviewer, RequestAuthenticator, userKey, type AccessDecision, type RequestUser, type TokenReviewer } from "./delegated-auth.js";
import { defineFlags, type NumberFlag } from "./flags.js";
import type { Logger } from "./logging.js";
import { createCertificateAuthority, issueCertificate } from "./pki/certificates.js";
import { writeCertificateAndKey } from "./pki/files.js";
import { listenServer, type HealthServer, type RequestHandler } from "./server.js";

/** The paths the two components skip authorization for by default (Kubernetes' DelegatingAuthorizationOptions). */
export const DEFAULT_ALWAYS_ALLOW_PATHS: readonly string[] = ["/healthz", "/readyz", "/livez"];
/** Members are allowed everything without a SubjectAccessReview (the apiserver would allow them anyway). */
export const ALWAYS_ALLOW_GROUPS: readonly string[] = ["system:masters"];

/**
 * Kubernetes' SecureServingOptions, DelegatingAuthenticationOptions and DelegatingAuthorizationOptions flags as the
 * scheduler and controller-manager set them up (port `defaultPort`, lookup failures tolerated, health paths open).
 */
const SECURE_SERVING_FLAGS = defineFlags({
  bindAddress: { type: "string", default: "0.0.0.0", help: "The IP address on which to listen for the --secure-port port." },
  certDir: { type: "string", default: "", help: "The directory where the TLS certs are located. If --tls-cert-file and --tls-private-key-file are provided, this flag will be ignored." },
  tlsCertFile: { type: "string", default: "", help: "File containing the default x509 Certificate for HTTPS. (CA cert, if any, concatenated after server cert). If HTTPS serving is enabled, and --tls-cert-file and --tls-private-key-file are not provided, a self-signed certificate and key are generated for the public address and saved to the directory specified by --cert-dir." },
  tlsPrivateKeyFile: { type: "string", default: "", help: "File containing the default x509 private key matching --tls-cert-file." },
  authenticationKubeconfig: { type: "string", default: "", help: "kubeconfig file pointing at the 'core' kubernetes server with enough rights to create tokenreviews.authentication.k8s.io. Default (kubelab): the component's --kubeconfig (--master)." },
  authenticationTokenWebhookCacheTtl: { type: "duration", default: "10s", help: "The duration to cache responses from the webhook token authenticator." },
  clientCaFile: { type: "string", default: "", help: "If set, any request presenting a client certificate signed by one of the authorities in the client-ca-file is authenticated with an identity corresponding to the CommonName of the client certificate." },
  authenticationSkipLookup: { type: "boolean", default: false, help: "If false, the authentication-kubeconfig will be used to lookup missing authentication configuration from the cluster." },
  authenticationTolerateLookupFailure: { type: "boolean", default: true, help: "If true, failures to look up missing authentication configuration from the cluster are not considered fatal. Note that this can result in authentication that treats all requests as anonymous." },
  authorizationKubeconfig: { type: "string", default: "", help: "kubeconfig file pointing at the 'core' kubernetes server with enough rights to create subjectaccessreviews.authorization.k8s.io. Default (kubelab): the component's --kubeconfig (--master)." },
  authorizationWebhookCacheAuthorizedTtl: { type: "duration", default: "10s", help: "The duration to cache 'authorized' responses from the webhook authorizer." },
  authorizationWebhookCacheUnauthorizedTtl: { type: "duration", default: "10s", help: "The duration to cache 'unauthorized' responses from the webhook authorizer." },
  authorizationAlwaysAllowPaths: { type: "stringArray", default: DEFAULT_ALWAYS_ALLOW_PATHS, help: "A list of HTTP paths to skip during authorization, i.e. these are authorized without contacting the 'core' kubernetes server (comma-separated or repeated; a trailing * matches a prefix)." },
});

/** SECURE_SERVING_FLAGS and --secure-port, defaulting to `defaultPort` (spread into a component's spec). */
export function secureServingFlags(defaultPort: number): typeof SECURE_SERVING_FLAGS & { securePort: NumberFlag & { default: number } } {
  return {
    securePort: { type: "number", default: defaultPort, help: "The port on which to serve HTTPS with authentication and authorization. If 0, don't serve HTTPS at all." },
    ...SECURE_SERVING_FLAGS,
  };
}

/** The parsed values of secureServingFlags. */
export interface SecureServingFlags {
  securePort: number;
  bindAddress: string;
  certDir: string;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  authenticationKubeconfig: string;
  authenticationTokenWebhookCacheTtl: number;
  clientCaFile: string;
  authenticationSkipLookup: boolean;
  authenticationTolerateLookupFailure: boolean;
  authorizationKubeconfig: string;
  authorizationWebhookCacheAuthorizedTtl: number;
  authorizationWebhookCacheUnauthorizedTtl: number;
  authorizationAlwaysAllowPaths: string[];
}

/** Asks the apiserver whether `user` may `verb` the non-resource `path`; throws when it cannot tell. */
export type PathAccessReviewer = (user: RequestUser, verb: string, path: string) => Promise<AccessDecision>;

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

export interface DelegatingAuthOptions {
  /** Whether a client certificate names the user (a client CA was given or found). */
  clientCertificates: boolean;
  /** Bearer tokens are reviewed with this; without, they are ignored (the request is anonymous). */
  tokenReviewer?: TokenReviewer;
  accessReviewer: PathAccessReviewer;
  /** --authorization-always-allow-paths. */
  alwaysAllowPaths: readonly string[];
  tokenCacheTtlMs: number;
  authorizedTtlMs: number;
  unauthorizedTtlMs: number;
  clock?: Clock;
}

/** The verdict on one request: serve it, or answer with `status` (a Kubernetes Status object) and its code. */
export type DelegatingAuthVerdict = { ok: true; user: RequestUser } | { ok: false; code: 401 | 403 | 500; status: KubeStatus; reason: string };

/** The Status body Kubernetes answers a refused request with. */
export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: "Unauthorized" | "Forbidden" | "InternalError";
  details?: Record<string, unknown>;
  code: number;
}

interface PathAttributes {
  user: RequestUser;
  verb: string;
  path: string;
}

/** Authentication and authorization of the secure port (see the file comment). */
export class DelegatingAuth {
  private readonly authenticator: RequestAuthenticator;
  private readonly authorizer: CachedAccessReviewer<PathAttributes>;
  private readonly alwaysAllowed: (path: string) => boolean;

  constructor(options: DelegatingAuthOptions) {
    const clock = options.clock !== undefined ? { clock: options.clock } : {};
    this.alwaysAllowed = alwaysAllowPathMatcher(options.alwaysAllowPaths);
    // Anonymous is always on, as Kubernetes' delegating authenticator has it: a request without credentials is
    // system:anonymous, and authorization decides (a 403 unless the path is always allowed).
    this.authenticator = new RequestAuthenticator({
      anonymous: true,
      clientCertificates: options.clientCertificates,
      ...(options.tokenReviewer ? { tokenReviewer: options.tokenReviewer } : {}),
      tokenCacheTtlMs: options.tokenCacheTtlMs,
      ...clock,
    });
    this.authorizer = new CachedAccessReviewer((a: PathAttributes) => options.accessReviewer(a.user, a.verb, a.path), {
      keyOf: (a) => JSON.stringify([...userKey(a.user), a.verb, a.path]),
      authorizedTtlMs: options.authorizedTtlMs,
      unauthorizedTtlMs: options.unauthorizedTtlMs,
      ...clock,
    });
  }

  async check(req: IncomingMessage): Promise<DelegatingAuthVerdict> {
    let user: RequestUser | undefined;
    try {
      user = await this.authenticator.authenticate(req);
    } catch (err) {
      return { ok: false, code: 401, status: failure(401, "Unauthorized", "Unauthorized"), reason: err instanceof Error ? err.message : String(err) };
    }
    // Anonymous is on, so there is always a user; the branch keeps the types honest.
    if (user === undefined) return { ok: false, code: 401, status: failure(401, "Unauthorized", "Unauthorized"), reason: "no credentials" };
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const verb = (req.method ?? "GET").toLowerCase();
    if (this.alwaysAllowed(path) || (user.groups ?? []).some((g) => ALWAYS_ALLOW_GROUPS.includes(g))) return { ok: true, user };
    const denied = `User "${user.username ?? ""}" cannot ${verb} path "${path}"`;
    try {
      const decision = await this.authorizer.authorize({ user, verb, path });
      if (decision.allowed) return { ok: true, user };
      const message = `forbidden: ${denied}${decision.reason !== "" ? `: ${decision.reason}` : ""}`;
      return { ok: false, code: 403, status: { ...failure(403, "Forbidden", message), details: {} }, reason: decision.reason };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const asked = `user "${user.username ?? ""}" to ${verb} path "${path}"`;
      return { ok: false, code: 500, status: failure(500, "InternalError", `Internal error occurred: authorizing ${asked}: ${reason}`), reason };
    }
  }

  /** `handler` behind the checks: refused requests get their Status, logged at V(2)-ish debug. */
  wrap(handler: RequestHandler, logger: Logger): RequestHandler {
    return (req, res) => {
      void this.check(req).then((verdict) => {
        if (verdict.ok) {
          handler(req, res);
          return;
        }
        logger.debug({ path: req.url, method: req.method, code: verdict.code, reason: verdict.reason }, verdict.code === 401 ? "Unable to authenticate the request" : verdict.status.message);
        writeStatus(res, verdict.code, verdict.status);
      });
    };
  }
}

function failure(code: number, reason: KubeStatus["reason"], message: string): KubeStatus {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

function writeStatus(res: ServerResponse, code: number, status: KubeStatus): void {
  res.writeHead(code, { "Content-Type": "application/json", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache, private" });
  res.end(`${JSON.stringify(status)}\n`);
}

/** A PEM serving pair (the certificate may be followed by its CA). */
export interface ServingPair {
  certPem: string;
  keyPem: string;
}

/**
 * The serving pair the flags give: --tls-cert-file/--tls-private-key-file; else `<cert-dir>/<pairName>.crt|.key`,
 * made self-signed there when missing; else a self-signed pair in memory. The self-signed one is Kubernetes' shape:
 * a throwaway CA "localhost-ca@<unix seconds>" signing "localhost@<unix seconds>" for localhost and 127.0.0.1, the
 * certificate file holding both.
 */
export async function servingPair(flags: Pick<SecureServingFlags, "certDir" | "tlsCertFile" | "tlsPrivateKeyFile">, pairName: string): Promise<ServingPair & { source: string }> {
  if ((flags.tlsCertFile === "") !== (flags.tlsPrivateKeyFile === "")) throw new Error("--tls-cert-file and --tls-private-key-file must be given together");
  if (flags.tlsCertFile !== "") return { certPem: readFileSync(flags.tlsCertFile, "utf8"), keyPem: readFileSync(flags.tlsPrivateKeyFile, "utf8"), source: flags.tlsCertFile };
  if (flags.certDir !== "") {
    const base = join(flags.certDir, pairName);
    if (existsSync(`${base}.crt`) && existsSync(`${base}.key`)) return { certPem: readFileSync(`${base}.crt`, "utf8"), keyPem: readFileSync(`${base}.key`, "utf8"), source: `${base}.crt` };
    const pair = await selfSignedPair();
    mkdirSync(flags.certDir, { recursive: true, mode: 0o755 });
    writeCertificateAndKey(base, pair);
    return { ...pair, source: `${base}.crt` };
  }
  return { ...(await selfSignedPair()), source: "self-signed in memory" };
}

async function selfSignedPair(): Promise<ServingPair> {
  const stamp = Math.floor(Date.now() / 1000);
  const ca = await createCertificateAuthority(`localhost-ca@${stamp}`, 365);
  const leaf = await issueCertificate(ca, { commonName: `localhost@${stamp}`, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], usage: "server" });
  return { certPem: `${leaf.certPem.trimEnd()}\n${ca.certPem}`, keyPem: leaf.keyPem };
}

export interface SecureServerOptions {
  port: number;
  bindAddress: string;
  pair: ServingPair;
  /** The CAs client certificates are verified against; without, no certificate is asked for. */
  clientCaPem?: string;
  auth: DelegatingAuth;
  /** What authorized requests reach (the health and metrics routes). */
  handler: RequestHandler;
  logger: Logger;
}

/** Listens on --bind-address:--secure-port; resolves once listening (port 0 picks a free one). */
export async function startSecureServer(opts: SecureServerOptions): Promise<HealthServer> {
  // A certificate is asked for but not required, and unverified ones reach the authenticator, which refuses them
  // with a 401: Kubernetes' servers do the same (a TLS alert would tell the caller less).
  const server = createServer(
    { cert: opts.pair.certPem, key: opts.pair.keyPem, keepAlive: true, ...(opts.clientCaPem !== undefined ? { ca: opts.clientCaPem, requestCert: true, rejectUnauthorized: false } : {}) },
    opts.auth.wrap(opts.handler, opts.logger),
  );
  const listening = await listenServer(server, opts.port, opts.bindAddress);
  opts.logger.info({ address: opts.bindAddress, port: listening.port, clientCertificates: opts.clientCaPem !== undefined }, "Serving securely");
  return listening;
}
