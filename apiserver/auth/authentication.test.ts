import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import type { UserInfo } from "../../api/types/index.js";
import { authenticateRequest, bearerToken, bearerTokenAuthenticator, staticTokenAuthenticator, type RequestAuthenticator } from "./authenticate.js";
import { forbidden, requestAttributes, unauthorized } from "./attributes.js";
import { ALWAYS_ALLOW, type Attributes, type Authorizer } from "./authorizer.js";
import { impersonate, impersonationRequest } from "./impersonation.js";
import { parseTokenFile } from "./token-file.js";

function request(headers: [string, string][]): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.rawHeaders = headers.flat();
  req.headers = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const before = req.headers[key];
    req.headers[key] = typeof before === "string" ? `${before}, ${value}` : value;
  }
  return req;
}

describe("--token-auth-file", () => {
  it("reads token,user,uid and the quoted group list", () => {
    const { users, warnings } = parseTokenFile('t1,alice,100,"devs,ops"\n\nt2,bob,101\n,nobody,1\nt2,bob2,102\n', "/etc/tokens.csv");
    expect(users.get("t1")).toEqual({ username: "alice", uid: "100", groups: ["devs", "ops"] });
    expect(users.get("t2")).toEqual({ username: "bob2", uid: "102" });
    expect(warnings).toEqual(["empty token has been found in token file '/etc/tokens.csv', line 4", "duplicate token has been found in token file '/etc/tokens.csv', line 5"]);
  });

  it("names the line of a record it cannot read", () => {
    expect(() => parseTokenFile("t1,alice,100\nt2,bob\n", "tokens.csv")).toThrow("token file 'tokens.csv' line 2: must have at least 3 columns (token, user name, user uid), found 2");
    expect(() => parseTokenFile('t1,alice,100,"devs\n', "tokens.csv")).toThrow("token file 'tokens.csv' line 1: bare or unterminated \" in a field");
  });
});

describe("authentication", () => {
  const tokens = bearerTokenAuthenticator([staticTokenAuthenticator(new Map([["good", { username: "alice", uid: "1", groups: ["devs"] }]]))]);

  it("reads only Bearer tokens", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer  abc ")).toBe("abc");
    expect(bearerToken("Basic YTpi")).toBeUndefined();
    expect(bearerToken("Bearer ")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it("adds system:authenticated to an authenticated user", async () => {
    expect(await authenticateRequest(request([["Authorization", "Bearer good"]]), [tokens], { anonymous: true })).toEqual({ user: { username: "alice", uid: "1", groups: ["devs", "system:authenticated"] } });
  });

  it("makes a request with no credential system:anonymous, or refuses it when anonymous auth is off", async () => {
    expect(await authenticateRequest(request([]), [tokens], { anonymous: true })).toEqual({ user: { username: "system:anonymous", groups: ["system:unauthenticated"] } });
    expect(await authenticateRequest(request([["Authorization", "Basic YTpi"]]), [tokens], { anonymous: true })).toMatchObject({ user: { username: "system:anonymous" } });
    expect(await authenticateRequest(request([]), [tokens], { anonymous: false })).toHaveProperty("error");
  });

  it("refuses a credential that fails instead of falling back to anonymous", async () => {
    expect(await authenticateRequest(request([["Authorization", "Bearer bad"]]), [tokens], { anonymous: true })).toEqual({ error: "invalid bearer token" });
  });

  it("takes the first authenticator that succeeds, past one that failed", async () => {
    const failing: RequestAuthenticator = { authenticate: () => ({ error: "bad certificate" }) };
    expect(await authenticateRequest(request([["Authorization", "Bearer good"]]), [failing, tokens], { anonymous: true })).toMatchObject({ user: { username: "alice" } });
    expect(await authenticateRequest(request([]), [failing, tokens], { anonymous: true })).toEqual({ error: "bad certificate" });
  });
});

describe("401 and 403 replies", () => {
  const user: UserInfo = { username: "jane", groups: ["system:authenticated"] };

  it("words a namespaced, a cluster-scoped, a named, a subresource and a non-resource refusal as Kubernetes does", () => {
    const list = requestAttributes(user, "GET", "/api/v1/namespaces/default/pods", { group: "", version: "v1", namespace: "default", resource: "pods", verb: "list" });
    expect(forbidden(list, "").toStatus()).toEqual({
      kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", code: 403, reason: "Forbidden",
      message: 'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"',
      details: { kind: "pods" },
    });
    const node = requestAttributes(user, "GET", "/api/v1/nodes/n1", { group: "", version: "v1", resource: "nodes", name: "n1", verb: "get" });
    expect(forbidden(node, "no RBAC policy matched").message).toBe('nodes "n1" is forbidden: User "jane" cannot get resource "nodes" in API group "" at the cluster scope: no RBAC policy matched');
    const deployment = requestAttributes(user, "DELETE", "/apis/apps/v1/namespaces/ns/deployments/web", { group: "apps", version: "v1", namespace: "ns", resource: "deployments", name: "web", verb: "delete" });
    expect(forbidden(deployment, "").toStatus().details).toEqual({ name: "web", group: "apps", kind: "deployments" });
    expect(forbidden(deployment, "").message).toBe('deployments.apps "web" is forbidden: User "jane" cannot delete resource "deployments" in API group "apps" in the namespace "ns"');
    const exec = requestAttributes(user, "POST", "/api/v1/namespaces/ns/pods/web/exec", { group: "", version: "v1", namespace: "ns", resource: "pods", name: "web", subresource: "exec", verb: "connect" });
    expect(exec.verb).toBe("create");
    expect(forbidden(exec, "").message).toBe('pods "web" is forbidden: User "jane" cannot create resource "pods/exec" in API group "" in the namespace "ns"');
    const metrics = requestAttributes(user, "GET", "/metrics", undefined);
    expect(metrics).toMatchObject({ verb: "get", resourceRequest: false, path: "/metrics" });
    expect(forbidden(metrics, "").toStatus()).toMatchObject({ code: 403, reason: "Forbidden", message: 'forbidden: User "jane" cannot get path "/metrics"' });
  });

  it("answers 401 with the bare Unauthorized Status", () => {
    expect(unauthorized().toStatus()).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });
  });
});

describe("impersonation", () => {
  const admin: UserInfo = { username: "admin", groups: ["system:masters", "system:authenticated"] };

  it("reads the headers, repeated groups and percent-encoded extra keys included", () => {
    const req = request([["Impersonate-User", "bob"], ["Impersonate-Group", "a,b"], ["Impersonate-Group", "c"], ["Impersonate-Uid", "9"], ["Impersonate-Extra-Acme.com%2FProject", "x"], ["Impersonate-Extra-acme.com%2fproject", "y"]]);
    expect(impersonationRequest(req)).toEqual({ username: "bob", groups: ["a,b", "c"], uid: "9", extra: { "acme.com/project": ["x", "y"] } });
    expect(impersonationRequest(request([["Accept", "*/*"]]))).toBeUndefined();
  });

  it("gives the impersonated user system:authenticated, and a service account its groups", async () => {
    expect(await impersonate({ username: "bob", groups: ["devs"], uid: undefined, extra: {} }, admin, "/x", ALWAYS_ALLOW)).toEqual({ username: "bob", groups: ["devs", "system:authenticated"] });
    expect(await impersonate({ username: "system:serviceaccount:ns:sa", groups: [], uid: undefined, extra: {} }, admin, "/x", ALWAYS_ALLOW)).toEqual({ username: "system:serviceaccount:ns:sa", groups: ["system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"] });
    expect(await impersonate({ username: "system:anonymous", groups: [], uid: undefined, extra: {} }, admin, "/x", ALWAYS_ALLOW)).toEqual({ username: "system:anonymous", groups: ["system:unauthenticated"] });
  });

  it("asks the authorizer about each part and refuses with the first denial", async () => {
    const asked: Attributes[] = [];
    const onlyUsers: Authorizer = {
      authorize: (a) => {
        asked.push(a);
        return a.resource === "users" || a.resource === "serviceaccounts" ? { decision: "allow", reason: "" } : { decision: "noOpinion", reason: "" };
      },
      rulesFor: () => ({ resourceRules: [], nonResourceRules: [], incomplete: false }),
    };
    await expect(impersonate({ username: "bob", groups: ["devs"], uid: undefined, extra: {} }, admin, "/x", onlyUsers)).rejects.toMatchObject({
      code: 403,
      message: 'groups "devs" is forbidden: User "admin" cannot impersonate resource "groups" in API group "" at the cluster scope',
    });
    await expect(impersonate({ username: "bob", groups: [], uid: undefined, extra: { scopes: ["view"] } }, admin, "/x", onlyUsers)).rejects.toMatchObject({
      message: 'userextras.authentication.k8s.io "view" is forbidden: User "admin" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope',
    });
    await impersonate({ username: "system:serviceaccount:kube-system:builder", groups: [], uid: undefined, extra: {} }, admin, "/x", onlyUsers);
    expect(asked.at(-1)).toMatchObject({ verb: "impersonate", resource: "serviceaccounts", namespace: "kube-system", name: "builder", apiGroup: "" });
  });

  it("refuses groups without a user", async () => {
    await expect(impersonate({ username: undefined, groups: ["devs"], uid: undefined, extra: {} }, admin, "/x", ALWAYS_ALLOW)).rejects.toMatchObject({ code: 500, message: "Internal error occurred: requested [Group=devs] without impersonating a user" });
  });
});
