// Service-account tokens as Kubernetes issues them since bound tokens: JWTs signed RS256 by an RSA key or
// ES256/ES384/ES512 by an ECDSA P-256/P-384/P-521 key (Kubernetes' choice by key type), whose claims name the
// issuer, the audiences, the expiry, the subject `system:serviceaccount:<namespace>:<name>`, and under
// `kubernetes.io` the namespace, the service account and the object the token is bound to. The key id (`kid`) is
// the unpadded base64url SHA-256 of the public key's DER (PKIX) form, as Kubernetes computes it, so verifiers
// with several keys pick the right one.
import { createPrivateKey, createPublicKey, generateKeyPairSync, createHash, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";

/** The object a token is bound to: it is valid only while that object exists with that uid. */
export interface BoundObject {
  kind: "Pod" | "Secret" | "Node";
  name: string;
  uid: string;
}

export interface TokenSubject {
  namespace: string;
  serviceAccountName: string;
  serviceAccountUid: string;
  audiences: readonly string[];
  expirationSeconds: number;
  boundObject?: BoundObject;
  /** The node of the pod a pod-bound token names (Kubernetes adds it since 1.30). */
  node?: { name: string; uid: string };
}

/** The `kubernetes.io` private claims. */
export interface KubernetesClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  secret?: { name: string; uid: string };
  node?: { name: string; uid: string };
}

export interface TokenClaims {
  aud: string[];
  exp: number;
  iat: number;
  iss: string;
  jti: string;
  nbf: number;
  sub: string;
  "kubernetes.io": KubernetesClaims;
}

export type TokenVerification = { authenticated: true; claims: TokenClaims; audiences: string[] } | { authenticated: false; error: string };

export interface ServiceAccountTokensOptions {
  signingKey: KeyObject;
  /** Keys tokens may be verified with; the signing key's public half is always among them. */
  verificationKeys?: readonly KeyObject[];
  issuer: string;
  /** The audiences a token is for when its request names none (--api-audiences). */
  apiAudiences: readonly string[];
  /** Seconds since the epoch. */
  now?: () => number;
}

export class ServiceAccountTokens {
  readonly issuer: string;
  readonly apiAudiences: readonly string[];
  private readonly signingKey: KeyObject;
  private readonly algorithm: JwsAlgorithm;
  private readonly keyId: string;
  private readonly verifiers: Map<string, KeyObject>;
  private readonly now: () => number;

  constructor(options: ServiceAccountTokensOptions) {
    this.issuer = options.issuer;
    this.apiAudiences = options.apiAudiences;
    this.signingKey = options.signingKey;
    this.algorithm = algorithmOf(options.signingKey);
    const publicKey = createPublicKey(options.signingKey);
    this.keyId = keyIdOf(publicKey);
    this.verifiers = new Map([[this.keyId, publicKey]]);
    for (const key of options.verificationKeys ?? []) this.verifiers.set(keyIdOf(key), key);
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** A signed token for `subject`, and when it expires (seconds since the epoch). */
  issue(subject: TokenSubject): { token: string; expiresAt: number } {
    const iat = this.now();
    const exp = iat + subject.expirationSeconds;
    const kubernetes: KubernetesClaims = {
      namespace: subject.namespace,
      serviceaccount: { name: subject.serviceAccountName, uid: subject.serviceAccountUid },
    };
    const bound = subject.boundObject;
    if (bound?.kind === "Pod") kubernetes.pod = { name: bound.name, uid: bound.uid };
    if (bound?.kind === "Secret") kubernetes.secret = { name: bound.name, uid: bound.uid };
    if (bound?.kind === "Node") kubernetes.node = { name: bound.name, uid: bound.uid };
    if (subject.node && bound?.kind === "Pod") kubernetes.node = subject.node;
    const claims: TokenClaims = {
      aud: [...subject.audiences],
      exp,
      iat,
      iss: this.issuer,
      jti: randomUUID(),
      "kubernetes.io": kubernetes,
      nbf: iat,
      sub: `system:serviceaccount:${subject.namespace}:${subject.serviceAccountName}`,
    };
    const signingInput = `${base64url(JSON.stringify({ alg: this.algorithm, kid: this.keyId }))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign(JWS_ALGORITHMS[this.algorithm].hash, Buffer.from(signingInput), { key: this.signingKey, dsaEncoding: "ieee-p1363" });
    return { token: `${signingInput}.${signature.toString("base64url")}`, expiresAt: exp };
  }

  /**
   * Checks signature, issuer, time window and audiences (`audiences` empty: the apiserver's own). Whether the
   * service account and bound object still exist is the caller's check, it needs the stores.
   */
  verify(token: string, audiences: readonly string[] = []): TokenVerification {
    const parts = token.split(".");
    if (parts.length !== 3) return { authenticated: false, error: "token is not a JWT" };
    const [headerPart = "", payloadPart = "", signaturePart = ""] = parts;
    const header = parseSegment(headerPart);
    const claims = parseSegment(payloadPart);
    if (!header || !claims) return { authenticated: false, error: "token is not a JWT" };
    const alg = header.alg;
    if (!isJwsAlgorithm(alg)) return { authenticated: false, error: `unsupported signing algorithm ${String(alg)}` };
    const key = typeof header.kid === "string" ? this.verifiers.get(header.kid) : undefined;
    // Only keys of the header's algorithm: an RSA key never checks an ES256 signature, nor a P-384 key an ES256 one.
    const candidates = (key ? [key] : [...this.verifiers.values()]).filter((k) => algorithmOf(k) === alg);
    const signed = Buffer.from(`${headerPart}.${payloadPart}`);
    const signature = Buffer.from(signaturePart, "base64url");
    if (!candidates.some((k) => verify(JWS_ALGORITHMS[alg].hash, signed, { key: k, dsaEncoding: "ieee-p1363" }, signature))) return { authenticated: false, error: "invalid bearer token, square/go-jose: error in cryptographic primitive" };
    if (claims.iss !== this.issuer) return { authenticated: false, error: "invalid bearer token, token issuer is not trusted" };
    if (!isTokenClaims(claims)) return { authenticated: false, error: "invalid bearer token, token lacks the service-account claims" };
    const now = this.now();
    if (claims.exp <= now) return { authenticated: false, error: "invalid bearer token, service account token has expired" };
    if (claims.nbf > now + 60) return { authenticated: false, error: "invalid bearer token, service account token is not valid yet" };
    const wanted = audiences.length > 0 ? audiences : this.apiAudiences;
    const matched = claims.aud.filter((a) => wanted.includes(a));
    if (matched.length === 0) return { authenticated: false, error: "invalid bearer token, token audiences [" + claims.aud.map((a) => JSON.stringify(a)).join(" ") + "] is invalid for the target audiences [" + wanted.map((a) => JSON.stringify(a)).join(" ") + "]" };
    return { authenticated: true, claims, audiences: matched };
  }
}

/** The JWS algorithms Kubernetes signs and verifies service-account tokens with, and their digests. */
const JWS_ALGORITHMS = { RS256: { hash: "sha256" }, ES256: { hash: "sha256" }, ES384: { hash: "sha384" }, ES512: { hash: "sha512" } } as const;
type JwsAlgorithm = keyof typeof JWS_ALGORITHMS;

function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === "string" && Object.hasOwn(JWS_ALGORITHMS, alg);
}

/** RS256 for an RSA key, ES256/ES384/ES512 for an ECDSA key on P-256/P-384/P-521; other keys are refused. */
function algorithmOf(key: KeyObject): JwsAlgorithm {
  if (key.asymmetricKeyType === "rsa") return "RS256";
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1") return "ES256";
    if (curve === "secp384r1") return "ES384";
    if (curve === "secp521r1") return "ES512";
  }
  throw new Error(`service account keys must be RSA or ECDSA (P-256, P-384, P-521) keys, not ${key.asymmetricKeyType ?? "unknown"} ${key.asymmetricKeyDetails?.namedCurve ?? ""}`.trim());
}

/**
 * The apiserver's tokens from its flags: the private key of --service-account-signing-key-file (or of
 * --service-account-key-file when that holds a private key), verifying also with every --service-account-key-file;
 * without either, a fresh ECDSA P-256 key (ES256) made at start, so tokens do not survive a restart (kubelab's
 * convenience; Kubernetes requires a key file). P-256, not RSA 2048: making an RSA key costs 50–400 ms of CPU,
 * a fifth of the apiserver's start, a P-256 key well under a millisecond. Key files are read (and a bad one
 * refused) before this resolves.
 */
export async function loadServiceAccountTokens(options: { signingKeyFile?: string | undefined; keyFiles: readonly string[]; issuer: string; apiAudiences: readonly string[] }): Promise<{ tokens: () => Promise<ServiceAccountTokens>; generated: boolean }> {
  const verificationKeys: KeyObject[] = [];
  let signingKey: KeyObject | undefined;
  for (const file of options.keyFiles) {
    const pem = await readFile(file, "utf8");
    try {
      const privateKey = createPrivateKey(pem);
      signingKey ??= privateKey;
      verificationKeys.push(createPublicKey(privateKey));
    } catch {
      verificationKeys.push(createPublicKey(pem));
    }
  }
  if (options.signingKeyFile) signingKey = createPrivateKey(await readFile(options.signingKeyFile, "utf8"));
  const make = (key: KeyObject): ServiceAccountTokens => new ServiceAccountTokens({ signingKey: key, verificationKeys, issuer: options.issuer, apiAudiences: options.apiAudiences });
  if (signingKey) {
    const tokens = make(signingKey);
    return { tokens: () => Promise.resolve(tokens), generated: false };
  }
  const tokens = make(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
  return { tokens: () => Promise.resolve(tokens), generated: true };
}

export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64url");
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

function parseSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isTokenClaims(claims: Record<string, unknown>): claims is Record<string, unknown> & TokenClaims {
  const k8s = claims["kubernetes.io"];
  return (
    typeof claims.sub === "string" &&
    typeof claims.exp === "number" &&
    typeof claims.nbf === "number" &&
    Array.isArray(claims.aud) &&
    claims.aud.every((a) => typeof a === "string") &&
    typeof k8s === "object" &&
    k8s !== null &&
    typeof (k8s as { namespace?: unknown }).namespace === "string"
  );
}
