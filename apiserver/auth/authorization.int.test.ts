// A real apiserver with --authorization-mode=Node,RBAC and NodeRestriction enabled: the authorizers follow the
// caches as objects come and go (the Node authorizer's graph from pods, RBAC from bindings), asked through
// SubjectAccessReviews and kubectl auth can-i; the insecure port's user (system:masters) writes as before.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, waitFor, type TestCluster } from "../../test/support/apiserver.js";

let cluster: TestCluster | undefined;

function kubectl(args: string[], stdin?: string): Promise<string> {
  if (!cluster) throw new Error("no cluster");
  return cluster.kubectl(args, stdin === undefined ? {} : { stdin }).then((r) => r.stdout);
}

/** The status of a SubjectAccessReview for `user` in `groups`, created with kubectl. */
async function review(user: string, groups: string[], resourceAttributes: Record<string, string>): Promise<{ allowed: boolean; reason?: string }> {
  const body = { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec: { user, groups, resourceAttributes } };
  return (JSON.parse(await kubectl(["create", "-f", "-", "-o", "json"], JSON.stringify(body))) as { status: { allowed: boolean; reason?: string } }).status;
}

beforeAll(async () => {
  cluster = await startTestCluster(["--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction", "--disable-admission-plugins=ServiceAccount"]);
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe("authorization against a real apiserver", () => {
  it("gives a node its pod's secret while the pod is bound to it, and takes it back when the pod goes", async () => {
    const node = ["system:nodes", "system:authenticated"];
    const secret = { verb: "get", resource: "secrets", namespace: "default", name: "authz-db-password" };
    expect(await review("system:node:authz-a", node, secret)).toEqual({ allowed: false, reason: "no relationship found between node 'authz-a' and this object" });
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "authz-db" }, spec: { nodeName: "authz-a", containers: [{ name: "db", image: "postgres", env: [{ name: "P", valueFrom: { secretKeyRef: { name: "authz-db-password", key: "p" } } }] }] } };
    await kubectl(["create", "-f", "-"], JSON.stringify(pod));
    await waitFor("the node to reach the secret", async () => ((await review("system:node:authz-a", node, secret)).allowed ? true : undefined), 10_000, 100);
    expect((await review("system:node:authz-b", node, secret)).allowed).toBe(false);
    await kubectl(["delete", "pod", "authz-db", "--grace-period=0", "--force"]);
    await waitFor("the secret out of the node's reach", async () => ((await review("system:node:authz-a", node, secret)).allowed ? undefined : true), 10_000, 100);
  }, 60_000);

  it("follows RBAC bindings as they are created and deleted", async () => {
    await kubectl(["create", "role", "authz-reader", "--verb=get,list", "--resource=pods"]);
    const list = { verb: "list", resource: "pods", namespace: "default" };
    expect((await review("authz-jane", [], list)).allowed).toBe(false);
    await kubectl(["create", "rolebinding", "authz-jane", "--role=authz-reader", "--user=authz-jane"]);
    const allowed = await waitFor("the binding to allow", async () => {
      const status = await review("authz-jane", [], list);
      return status.allowed ? status : undefined;
    }, 10_000, 100);
    expect(allowed.reason).toBe('RBAC: allowed by RoleBinding "authz-jane/default" of Role "authz-reader" to User "authz-jane"');
    await kubectl(["delete", "rolebinding", "authz-jane"]);
    await waitFor("the binding gone", async () => ((await review("authz-jane", [], list)).allowed ? undefined : true), 10_000, 100);
  }, 60_000);

  it("answers kubectl auth can-i for the caller, and lets the insecure port's admin write through NodeRestriction", async () => {
    expect((await kubectl(["auth", "can-i", "delete", "nodes"])).trim()).toBe("yes");
    await kubectl(["create", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: "authz-node", labels: { "node-restriction.kubernetes.io/pool": "a" } } }));
    await kubectl(["taint", "node", "authz-node", "authz=yes:NoSchedule"]);
    expect(await kubectl(["get", "node", "authz-node", "-o", "jsonpath={.spec.taints[0].key}"])).toBe("authz");
  }, 60_000);
});
