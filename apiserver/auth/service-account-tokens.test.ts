import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyIdOf, ServiceAccountTokens } from "./service-account-tokens.js";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ISSUER = "https://kubernetes.default.svc.cluster.local";

function issuer(now = 1_700_000_000): ServiceAccountTokens {
  return new ServiceAccountTokens({ signingKey: privateKey, issuer: ISSUER, apiAudiences: [ISSUER], now: () => now });
}

const subject = { namespace: "default", serviceAccountName: "builder", serviceAccountUid: "sa-uid", audiences: [ISSUER], expirationSeconds: 3600 };

function decode(segment: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("ServiceAccountTokens", () => {
  it("signs RS256 JWTs with Kubernetes' bound-token claims and the key id of the public key", () => {
    const { token, expiresAt } = issuer().issue({ ...subject, boundObject: { kind: "Pod", name: "web", uid: "pod-uid" }, node: { name: "n1", uid: "node-uid" } });
    const [header, payload] = token.split(".");
    expect(decode(header)).toEqual({ alg: "RS256", kid: keyIdOf(publicKey) });
    expect(decode(payload)).toEqual({
      aud: [ISSUER],
      exp: 1_700_003_600,
      iat: 1_700_000_000,
      iss: ISSUER,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
      "kubernetes.io": { namespace: "default", serviceaccount: { name: "builder", uid: "sa-uid" }, pod: { name: "web", uid: "pod-uid" }, node: { name: "n1", uid: "node-uid" } },
      nbf: 1_700_000_000,
      sub: "system:serviceaccount:default:builder",
    });
    expect(expiresAt).toBe(1_700_003_600);
  });

  it("verifies its own tokens, for the audiences they were issued to", () => {
    const { token } = issuer().issue({ ...subject, audiences: ["vault", ISSUER] });
    const verified = issuer(1_700_000_100).verify(token);
    expect(verified).toMatchObject({ authenticated: true, audiences: [ISSUER] });
    expect(issuer().verify(token, ["vault"])).toMatchObject({ authenticated: true, audiences: ["vault"] });
    expect(issuer().verify(token, ["other"])).toMatchObject({ authenticated: false, error: expect.stringContaining("audiences") as string });
  });

  it.each([
    ["expired", (t: string) => t, 1_700_003_600, "has expired"],
    ["re-signed by another key", (t: string) => `${t.slice(0, t.lastIndexOf("."))}.${Buffer.from("x".repeat(256)).toString("base64url")}`, 1_700_000_000, "invalid bearer token"],
    ["not a JWT", () => "abc", 1_700_000_000, "not a JWT"],
  ])("refuses a token that is %s", (_what, mangle, now, error) => {
    const { token } = issuer().issue(subject);
    expect(issuer(now).verify(mangle(token))).toEqual({ authenticated: false, error: expect.stringContaining(error) as string });
  });

  it("signs ES256 with a P-256 key and ES384 with a P-384 key, and verifies each only with a key of its algorithm", () => {
    for (const [namedCurve, alg] of [["prime256v1", "ES256"], ["secp384r1", "ES384"]] as const) {
      const ec = generateKeyPairSync("ec", { namedCurve });
      const tokens = new ServiceAccountTokens({ signingKey: ec.privateKey, verificationKeys: [publicKey], issuer: ISSUER, apiAudiences: [ISSUER], now: () => 1_700_000_000 });
      const { token } = tokens.issue(subject);
      const [header, , signature] = token.split(".");
      expect(decode(header)).toEqual({ alg, kid: keyIdOf(ec.publicKey) });
      // JWS carries ECDSA signatures as r || s, not DER: 64 bytes for P-256, 96 for P-384.
      expect(Buffer.from(signature ?? "", "base64url")).toHaveLength(alg === "ES256" ? 64 : 96);
      expect(tokens.verify(token)).toMatchObject({ authenticated: true });
      // The RSA issuer does not know the EC key; and an RS256 header on an ECDSA-signed token is refused.
      expect(issuer().verify(token)).toMatchObject({ authenticated: false, error: expect.stringContaining("invalid bearer token") as string });
      const relabeled = `${Buffer.from(JSON.stringify({ alg: "RS256", kid: keyIdOf(ec.publicKey) })).toString("base64url")}.${token.split(".").slice(1).join(".")}`;
      expect(tokens.verify(relabeled)).toMatchObject({ authenticated: false });
    }
  });

  it("refuses a signing key that is neither RSA nor ECDSA, and an unknown algorithm", () => {
    expect(() => new ServiceAccountTokens({ signingKey: generateKeyPairSync("ed25519").privateKey, issuer: ISSUER, apiAudiences: [ISSUER] })).toThrow(/RSA or ECDSA/);
    const { token } = issuer().issue(subject);
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${token.split(".")[1] ?? ""}.`;
    expect(issuer().verify(none)).toEqual({ authenticated: false, error: "unsupported signing algorithm none" });
  });

  it("refuses a token from another issuer", () => {
    const other = new ServiceAccountTokens({ signingKey: privateKey, issuer: "https://elsewhere", apiAudiences: [ISSUER] });
    expect(issuer().verify(other.issue(subject).token)).toEqual({ authenticated: false, error: "invalid bearer token, token issuer is not trusted" });
  });
});
