// The secure port of kube-scheduler (10259) and kube-controller-manager (10257), as Kubernetes serves it: HTTPS
// with the serving pair from --tls-cert-file/--tls-private-key-file, or a self-signed one (kept in --cert-dir when
// given, else in memory); every request authenticated (delegated-auth.ts: client certificate against the client
// CA, bearer token by TokenReview, else system:anonymous) and authorized (--authorization-always-allow-paths and
// the group system:masters without asking, everything else a SubjectAccessReview for the non-resource path, the
// verb the lowercased HTTP method). Refusals are Kubernetes' Status bodies: 401 Unauthorized for a credential that
// does not check out, 403 Forbidden `forbidden: User "system:anonymous" cannot get path "/metrics"`, 500 when the
// apiserver cannot be asked (delegated-auth-status.ts writes them).
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import type { Clock } from "./clock.js";
import type { AccessDecision, RequestUser, TokenReviewer } from "./delegated-auth.js";
import { StatusDelegatedAuth } from "./delegated-auth-status.js";
import { defineFlags, type NumberFlag } from "./flags.js";
import type { Logger } from "./logging.js";
import { createCertificateAuthority, issueCertificate } from "./pki/certificates.js";
import { writeCertificateAndKey } from "./pki/files.js";
import { listenServer, type HealthServer, type RequestHandler } from "./server.js";

// Moved to delegated-auth.ts, the one implementation; still exported here for the secure port's callers and tests.
export { alwaysAllowPathMatcher } from "./delegated-auth.js";
export type { KubeStatus, StatusVerdict as DelegatingAuthVerdict } from "./delegated-auth-status.js";

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
  /** Where refusals are logged. */
  logger?: Logger;
}

/**
 * The secure port's authentication and authorization (see the file comment): delegated-auth's one implementation
 * with anonymous access on (as Kubernetes' delegating authenticator has it: authorization decides), client
 * certificates and tokens, no front proxy, non-resource attributes, system:masters always allowed.
 */
export class DelegatingAuth extends StatusDelegatedAuth {
  constructor(options: DelegatingAuthOptions) {
    super({
      anonymous: true,
      clientCertificates: options.clientCertificates,
      ...(options.tokenReviewer ? { tokenReviewer: options.tokenReviewer } : {}),
      tokenCacheTtlMs: options.tokenCacheTtlMs,
      attributesOf: (_user, req, path) => ({ nonResourceAttributes: { path, verb: (req.method ?? "GET").toLowerCase() } }),
      accessReviewer: (user, a) => options.accessReviewer(user, a.nonResourceAttributes?.verb ?? "", a.nonResourceAttributes?.path ?? ""),
      authorizedTtlMs: options.authorizedTtlMs,
      unauthorizedTtlMs: options.unauthorizedTtlMs,
      alwaysAllowPaths: options.alwaysAllowPaths,
      alwaysAllowGroups: ALWAYS_ALLOW_GROUPS,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
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
    opts.auth.wrap(opts.handler),
  );
  const listening = await listenServer(server, opts.port, opts.bindAddress);
  opts.logger.info({ address: opts.bindAddress, port: listening.port, clientCertificates: opts.clientCaPem !== undefined }, "Serving securely");
  return listening;
}
