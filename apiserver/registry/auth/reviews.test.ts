import { generateKeyPairSync } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import { ServiceAccountTokens } from "../../auth/service-account-tokens.js";
import type { ComputedRequest, SubresourceRequest } from "../kind.js";
import type { ServedResource } from "../registry.js";
import { memoryRegistry, type MemoryRegistry } from "../testing/memory-storage.js";
import { rejection } from "../testing/rejection.js";

const ISSUER = "https://kubernetes.default.svc.cluster.local";
const tokens = new ServiceAccountTokens({ signingKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey, issuer: ISSUER, apiAudiences: [ISSUER] });

let m: MemoryRegistry;

beforeEach(async () => {
  m = await memoryRegistry({ serviceAccountTokens: tokens });
  await m.registry.core("serviceaccounts").create("default", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "builder" } });
});

function served(group: string, resource: string): ServedResource {
  const r = m.registry.served(group, "v1", resource);
  if (!r) throw new Error(`${resource} not served`);
  return r;
}

function computedRequest(body: unknown, extra: Partial<ComputedRequest> = {}): ComputedRequest {
  return { namespace: undefined, name: undefined, authorization: undefined, user: { username: "system:unsecured", groups: ["system:masters", "system:authenticated"] }, object: () => Promise.resolve(body), storeFor: (g, v, r) => m.registry.store(g, v, r), ...extra };
}

async function create(group: string, resource: string, body: unknown, extra: Partial<ComputedRequest> = {}): Promise<KubeObject> {
  const computed = served(group, resource).computed;
  if (!computed?.create) throw new Error(`${resource} cannot be created`);
  return computed.create(computedRequest(body, extra));
}

async function requestToken(name: string, spec: Record<string, unknown> = {}): Promise<{ code: number; body: unknown }> {
  const r = served("", "serviceaccounts");
  const handler = r.subresources.token;
  if (!handler) throw new Error("no token subresource");
  const request: SubresourceRequest = {
    method: "POST",
    namespace: "default",
    name,
    dryRun: false,
    store: r.store,
    object: () => Promise.reject(new Error("unused")),
    json: () => Promise.resolve({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec }),
    patch: () => Promise.reject(new Error("unused")),
    storeFor: (g, v, res) => m.registry.store(g, v, res),
  };
  const reply = await handler(request);
  if (!("body" in reply)) throw new Error("expected a TokenRequest body");
  return reply;
}

describe("serviceaccounts/token", () => {
  it("answers 201 with a token for the apiserver's audiences, valid for an hour by default", async () => {
    const reply = await requestToken("builder");
    const body = reply.body as { spec: { audiences: string[]; expirationSeconds: number }; status: { token: string; expirationTimestamp: string } };
    expect(reply.code).toBe(201);
    expect(body.spec).toEqual({ audiences: [ISSUER], expirationSeconds: 3600, boundObjectRef: null });
    expect(tokens.verify(body.status.token)).toMatchObject({ authenticated: true });
    expect(Date.parse(body.status.expirationTimestamp) - Date.now()).toBeGreaterThan(3590_000);
  });

  it("records the fields the request set, not one it sent as null, and answers boundObjectRef: null", async () => {
    const reply = await requestToken("builder", { expirationSeconds: 600, boundObjectRef: null });
    const body = reply.body as { metadata: { managedFields?: { fieldsV1?: unknown }[] }; spec: unknown };
    expect(body.spec).toEqual({ audiences: [ISSUER], expirationSeconds: 600, boundObjectRef: null });
    expect(body.metadata.managedFields?.map((m) => m.fieldsV1)).toEqual([{ "f:spec": { "f:expirationSeconds": {} } }]);
  });

  it("refuses a short duration, a missing account and a bound pod that does not exist", async () => {
    expect((await rejection(requestToken("builder", { expirationSeconds: 60 }))).message).toContain("spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes");
    expect((await rejection(requestToken("nobody"))).message).toBe('serviceaccounts "nobody" not found');
    expect((await rejection(requestToken("builder", { boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web" } }))).message).toBe('pods "web" not found');
    expect((await rejection(requestToken("builder", { boundObjectRef: { kind: "ConfigMap", name: "x" } }))).message).toContain("to object of type ConfigMap");
  });
});

describe("TokenReview", () => {
  it("authenticates a live account's token, and stops once the account is recreated", async () => {
    const { token } = ((await requestToken("builder")).body as { status: { token: string } }).status;
    const review = await create("authentication.k8s.io", "tokenreviews", { spec: { token } });
    expect(review.status).toMatchObject({ authenticated: true, audiences: [ISSUER], user: { username: "system:serviceaccount:default:builder", groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"] } });
    const accounts = m.registry.core("serviceaccounts");
    await accounts.delete("default", "builder");
    await accounts.create("default", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "builder" } });
    const stale = await create("authentication.k8s.io", "tokenreviews", { spec: { token } });
    expect(stale.status).toEqual({ user: {}, error: expect.stringContaining("does not match claim") as string });
  });
});

describe("SelfSubjectReview", () => {
  it("names the user the request was authenticated as", async () => {
    expect((await create("authentication.k8s.io", "selfsubjectreviews", {})).status).toEqual({ userInfo: { username: "system:unsecured", groups: ["system:masters", "system:authenticated"] } });
    const jane = { username: "jane", uid: "42", groups: ["devs", "system:authenticated"], extra: { scopes: ["view"] } };
    const mine = await create("authentication.k8s.io", "selfsubjectreviews", {}, { user: jane });
    expect(mine.status).toEqual({ userInfo: jane });
  });
});

describe("access reviews", () => {
  it("allows everything, as the AlwaysAllow authorizer does", async () => {
    const review = await create("authorization.k8s.io", "selfsubjectaccessreviews", { spec: { resourceAttributes: { verb: "create", resource: "pods", namespace: "default" } } });
    expect(review).toMatchObject({ apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", status: { allowed: true } });
    const rules = await create("authorization.k8s.io", "selfsubjectrulesreviews", { spec: { namespace: "default" } });
    expect(rules.status).toEqual({ resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }], nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }], incomplete: false });
  });

  it("refuses reviews Kubernetes refuses", async () => {
    expect((await rejection(create("authorization.k8s.io", "selfsubjectaccessreviews", { spec: {} }))).message).toContain("exactly one of nonResourceAttributes or resourceAttributes must be specified");
    expect((await rejection(create("authorization.k8s.io", "subjectaccessreviews", { spec: { nonResourceAttributes: { path: "/healthz", verb: "get" } } }))).message).toContain("at least one of user or group must be specified");
    expect((await rejection(create("authorization.k8s.io", "localsubjectaccessreviews", { spec: { user: "jane", resourceAttributes: { namespace: "other" } } }, { namespace: "default" }))).message).toContain("must match metadata.namespace");
  });
});
