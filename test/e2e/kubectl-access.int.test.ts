// The real kubectl against a real apiserver (on a real etcd) and controller-manager: the core storage-claim and
// budget kinds, ComponentStatus, RBAC with the bootstrap policy and aggregation, service-account tokens,
// `kubectl auth whoami|can-i`, CSR approval, and the default ServiceAccount and kube-root-ca.crt of a new namespace.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchAs, startTestCluster, waitFor, type TestCluster } from "../support/apiserver.js";
import { startComponentOnFreePort, type ComponentProcess } from "../support/components.js";

const STORAGE = `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-data}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: /tmp/pv-data}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  resources: {requests: {storage: 500Mi}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits: [{type: Container, max: {cpu: "1"}}]
---
apiVersion: v1
kind: PodTemplate
metadata: {name: web}
template:
  metadata: {labels: {app: web}}
  spec: {containers: [{name: nginx, image: "nginx:1.24"}]}
`;

const WIDGET_VIEWER = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widget-viewer
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules: [{apiGroups: [example.com], resources: [widgets], verbs: [get, list, watch]}]
`;

const BAD_ROLE = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: bad}
rules: [{apiGroups: [""], resources: [pods]}]
`;

interface JwtClaims {
  iss: string;
  aud: string[];
  sub: string;
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  "kubernetes.io": { namespace: string; serviceaccount: { name: string; uid: string } };
}

function claimsOf(token: string): { header: { alg: string; kid: string }; claims: JwtClaims } {
  const [header = "", payload = ""] = token.split(".");
  return {
    header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg: string; kid: string },
    claims: JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as JwtClaims,
  };
}

describe("kubectl against the core claim kinds, RBAC, tokens, reviews and CSRs", () => {
  let cluster: TestCluster;
  let controllerManager: ComponentProcess | undefined;
  const k = (...args: string[]) => cluster.kubectl(args);
  const kFail = (...args: string[]) => cluster.kubectl(args, { allowFailure: true });
  const file = (name: string, text: string): string => {
    const path = join(cluster.workDir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    // The allow-everything mode of the 0.18 insecure port (system:unsecured) is what several of these tests are about.
    cluster = await startTestCluster([], { insecure: true });
    controllerManager = await startComponentOnFreePort("kube-controller-manager", ["--kubeconfig", cluster.kubeconfig, "--leader-elect=false", "--controllers=serviceaccount,root-ca-cert-publisher,clusterrole-aggregation,namespace"]);
  }, 60_000);
  afterAll(async () => {
    await controllerManager?.kill();
    await cluster.destroy();
  });

  it("creates, lists with kubectl's columns, and deletes PVs, PVCs, quotas, limit ranges and pod templates", async () => {
    const created = await k("apply", "-f", file("storage.yaml", STORAGE));
    expect(created.stdout).toContain("persistentvolume/pv-data created");
    expect(created.stdout).toContain("persistentvolumeclaim/data created");
    expect(created.stdout).toContain("limitrange/limits created");
    expect(created.stdout).toContain("podtemplate/web created");
    expect((await k("create", "quota", "budget", "--hard=pods=10,requests.cpu=2,limits.memory=1Gi")).stdout).toBe("resourcequota/budget created\n");

    const pv = await k("get", "pv");
    expect(pv.stdout).toMatch(/^NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE$/m);
    expect(pv.stdout).toMatch(/^pv-data\s+1Gi\s+RWO\s+Retain\s+Pending\s+manual\s+<unset>\s+\d+s$/m);
    const pvc = await k("get", "pvc", "-o", "wide");
    expect(pvc.stdout).toMatch(/^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE\s+VOLUMEMODE$/m);
    expect(pvc.stdout).toMatch(/^data\s+Pending\s+manual\s+<unset>\s+\d+s\s+Filesystem$/m);
    expect((await k("get", "quota")).stdout).toMatch(/^NAME\s+AGE\s+REQUEST\s+LIMIT\nbudget\s+\d+s\s*$/m);
    expect((await k("get", "limits")).stdout).toMatch(/^NAME\s+CREATED AT\nlimits\s+\d{4}-\d\d-\d\dT/m);
    expect((await k("get", "limitrange", "limits", "-o", "jsonpath={.spec.limits[0].default.cpu}/{.spec.limits[0].defaultRequest.cpu}")).stdout).toBe("1/1");
    expect((await k("get", "podtemplates")).stdout).toMatch(/^NAME\s+CONTAINERS\s+IMAGES\s+POD LABELS\nweb\s+nginx\s+nginx:1\.24\s+app=web$/m);
    const quota = JSON.parse((await k("get", "quota", "budget", "-o", "json")).stdout) as { spec: { hard: Record<string, string> } };
    expect(quota.spec.hard).toEqual({ pods: "10", "requests.cpu": "2", "limits.memory": "1Gi" });

    const noStorage = await kFail("create", "-f", file("bad-pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: bad}\nspec: {accessModes: [ReadWriteOnce]}\n"));
    expect(noStorage.stderr).toContain('The PersistentVolumeClaim "bad" is invalid: spec.resources[storage]: Required value');

    expect((await k("delete", "pv", "pv-data")).stdout).toBe('persistentvolume "pv-data" deleted\n');
    expect((await k("delete", "pvc,limits,podtemplates,quota", "--all")).stdout).toContain('persistentvolumeclaim "data" deleted');
    expect((await k("get", "pv,pvc")).stderr).toContain("No resources found");
  });

  it("reports component health with kubectl get cs, with the deprecation warning", async () => {
    const cs = await k("get", "cs");
    expect(cs.stderr).toContain("v1 ComponentStatus is deprecated in v1.19+");
    expect(cs.stdout).toMatch(/^NAME\s+STATUS\s+MESSAGE\s+ERROR$/m);
    expect(cs.stdout).toMatch(/^etcd-0\s+Healthy\s+\{"health":"true","reason":""\}\s*$/m);
    expect(cs.stdout).toMatch(/^scheduler\s+(Healthy|Unhealthy)\s/m);
  });

  it("serves the bootstrap cluster roles and bindings, and aggregates labelled roles into view", async () => {
    const roles = await k("get", "clusterroles");
    expect(roles.stdout).toMatch(/^NAME\s+CREATED AT$/m);
    for (const name of ["cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery", "system:public-info-viewer", "system:kube-scheduler", "system:kube-controller-manager", "system:node", "system:node-proxier", "system:kube-dns", "system:monitoring"]) {
      expect(roles.stdout).toMatch(new RegExp(`^${name}\\s+\\d{4}-`, "m"));
    }
    expect((await k("get", "clusterrolebinding", "cluster-admin", "-o", "wide")).stdout).toMatch(/^cluster-admin\s+ClusterRole\/cluster-admin\s+\S+\s+system:masters\s*$/m);
    const view = await waitFor("view to aggregate the system:aggregate-to-view rules", async () => {
      const rules = JSON.parse((await k("get", "clusterrole", "view", "-o", "jsonpath={.rules}")).stdout || "[]") as { resources?: string[] }[];
      return rules.some((r) => r.resources?.includes("pods")) ? rules : undefined;
    });
    expect(view.some((r) => r.resources?.includes("secrets"))).toBe(false);
    expect((await k("apply", "-f", file("widget-viewer.yaml", WIDGET_VIEWER))).stdout).toContain("clusterrole.rbac.authorization.k8s.io/widget-viewer created");
    await waitFor("view and edit to include widgets", async () => {
      const edit = (await k("get", "clusterrole", "edit", "-o", "jsonpath={.rules}")).stdout;
      const viewRules = (await k("get", "clusterrole", "view", "-o", "jsonpath={.rules}")).stdout;
      return edit.includes("widgets") && viewRules.includes("widgets");
    });
  });

  it("creates roles and bindings with kubectl create, and refuses rules without verbs", async () => {
    expect((await k("create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods")).stdout).toBe("role.rbac.authorization.k8s.io/pod-reader created\n");
    expect((await k("create", "rolebinding", "read-pods", "--role=pod-reader", "--user=jane", "--group=devs", "--serviceaccount=default:default")).stdout).toBe("rolebinding.rbac.authorization.k8s.io/read-pods created\n");
    expect((await k("create", "clusterrole", "node-reader", "--verb=get,list", "--resource=nodes")).stdout).toBe("clusterrole.rbac.authorization.k8s.io/node-reader created\n");
    expect((await k("create", "clusterrolebinding", "read-nodes", "--clusterrole=node-reader", "--group=ops")).stdout).toBe("clusterrolebinding.rbac.authorization.k8s.io/read-nodes created\n");
    expect((await k("get", "roles")).stdout).toMatch(/^NAME\s+CREATED AT\npod-reader\s+\d{4}-/m);
    const bindings = await k("get", "rolebindings", "-o", "wide");
    expect(bindings.stdout).toMatch(/^NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS$/m);
    expect(bindings.stdout).toMatch(/^read-pods\s+Role\/pod-reader\s+\d+s\s+jane\s+devs\s+default\/default$/m);
    const rule = JSON.parse((await k("get", "role", "pod-reader", "-o", "jsonpath={.rules[0]}")).stdout) as unknown;
    expect(rule).toEqual({ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] });
    const bad = await kFail("create", "-f", file("bad-role.yaml", BAD_ROLE));
    expect(bad.stderr).toContain('The Role "bad" is invalid: rules[0].verbs: Required value: verbs must contain at least one value');
    const changedRef = await kFail("patch", "rolebinding", "read-pods", "--type=merge", "-p", '{"roleRef":{"name":"other"}}');
    expect(changedRef.stderr).toContain("cannot change roleRef");
  });

  it("streams watch events of the new kinds", async () => {
    const list = (await (await fetchAs(cluster.api, `/api/v1/namespaces/default/persistentvolumeclaims`)).json()) as { metadata: { resourceVersion: string } };
    const abort = new AbortController();
    const watch = await fetchAs(cluster.api, `/api/v1/namespaces/default/persistentvolumeclaims?watch=1&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=20`, { signal: abort.signal });
    await k("apply", "-f", file("watched.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: watched}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"));
    const reader = watch.body?.getReader();
    let seen = "";
    try {
      while (reader && !seen.includes("\n")) {
        const chunk = await reader.read();
        if (chunk.done) break;
        seen += Buffer.from(chunk.value).toString("utf8");
      }
    } finally {
      abort.abort();
    }
    const event = JSON.parse(seen.split("\n")[0] ?? "") as { type: string; object: { kind: string; metadata: { name: string }; status: { phase: string } } };
    expect([event.type, event.object.kind, event.object.metadata.name, event.object.status.phase]).toEqual(["ADDED", "PersistentVolumeClaim", "watched", "Pending"]);
    await k("delete", "pvc", "watched");
  });

  it("gives every new namespace a default ServiceAccount and kube-root-ca.crt, and brings them back when deleted", async () => {
    await k("create", "namespace", "team");
    await waitFor("the default service account", async () => (await kFail("get", "sa", "default", "-n", "team")).code === 0, 20_000);
    await waitFor("kube-root-ca.crt", async () => (await kFail("get", "cm", "kube-root-ca.crt", "-n", "team")).code === 0, 20_000);
    const cm = JSON.parse((await k("get", "cm", "kube-root-ca.crt", "-n", "team", "-o", "json")).stdout) as { data: Record<string, string> };
    expect(Object.keys(cm.data)).toEqual(["ca.crt"]);
    const firstUid = (await k("get", "sa", "default", "-n", "team", "-o", "jsonpath={.metadata.uid}")).stdout;
    await k("delete", "sa", "default", "-n", "team");
    await k("delete", "cm", "kube-root-ca.crt", "-n", "team");
    await waitFor("a new default service account", async () => {
      const uid = (await kFail("get", "sa", "default", "-n", "team", "-o", "jsonpath={.metadata.uid}")).stdout;
      return uid !== "" && uid !== firstUid;
    }, 20_000);
    await waitFor("kube-root-ca.crt again", async () => (await kFail("get", "cm", "kube-root-ca.crt", "-n", "team")).code === 0, 20_000);
  });

  it("issues bound service-account tokens with Kubernetes' claims, which TokenReview and SelfSubjectReview accept", async () => {
    await waitFor("the default service account", async () => (await kFail("get", "sa", "default")).code === 0, 20_000);
    const uid = (await k("get", "sa", "default", "-o", "jsonpath={.metadata.uid}")).stdout;
    const token = (await k("create", "token", "default")).stdout.trim();
    const { header, claims } = claimsOf(token);
    // This cluster's apiserver signs with the key it generates (no --service-account-signing-key-file): ECDSA P-256,
    // so ES256. A kubeadm RSA key file gives RS256 (apiserver/auth/service-account-tokens.test.ts, the lab's PKI).
    expect(header.alg).toBe("ES256");
    expect(header.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(claims.iss).toBe("https://kubernetes.default.svc.cluster.local");
    expect(claims.aud).toEqual(["https://kubernetes.default.svc.cluster.local"]);
    expect(claims.sub).toBe("system:serviceaccount:default:default");
    expect(claims.exp - claims.iat).toBe(3600);
    expect(claims.nbf).toBe(claims.iat);
    expect(claims["kubernetes.io"]).toEqual({ namespace: "default", serviceaccount: { name: "default", uid } });

    const short = claimsOf((await k("create", "token", "default", "--duration=10m", "--audience=vault")).stdout.trim()).claims;
    expect([short.aud, short.exp - short.iat]).toEqual([["vault"], 600]);
    expect((await kFail("create", "token", "default", "--duration=5m")).stderr).toContain("may not specify a duration less than 10 minutes");
    expect((await kFail("create", "token", "nobody")).stderr).toContain('serviceaccounts "nobody" not found');

    // TokenReview has no PATCH operation, so kubectl validates it against /openapi/v2.
    const review = JSON.parse((await cluster.kubectl(["create", "-f", "-", "-o", "json"], { stdin: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } }) })).stdout) as { status: { authenticated: boolean; user: { username: string; uid: string; groups: string[] } } };
    expect(review.status.authenticated).toBe(true);
    expect(review.status.user).toMatchObject({ username: "system:serviceaccount:default:default", uid, groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"] });
    const forged = `${token.slice(0, token.lastIndexOf(".") + 1)}${Buffer.from("forged").toString("base64url")}`;
    const refused = JSON.parse((await cluster.kubectl(["create", "-f", "-", "-o", "json"], { stdin: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: forged } }) })).stdout) as { status: { authenticated?: boolean; error?: string } };
    expect(refused.status.authenticated).toBeUndefined();
    expect(refused.status.error).toContain("invalid bearer token");

    // A request bearing the token is that service account (kubectl sends no token to a plain-HTTP server).
    const review2 = await fetchAs(cluster.api, `/apis/authentication.k8s.io/v1/selfsubjectreviews`, { method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` }, body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }) });
    expect(review2.status).toBe(201);
    expect(((await review2.json()) as { status: { userInfo: { username: string } } }).status.userInfo.username).toBe("system:serviceaccount:default:default");
  });

  it("answers kubectl auth whoami and can-i for the allow-everything mode", async () => {
    const whoami = await k("auth", "whoami");
    expect(whoami.stdout).toMatch(/^ATTRIBUTE\s+VALUE\nUsername\s+system:unsecured\nGroups\s+\[system:masters system:authenticated\]$/m);
    expect((await k("auth", "can-i", "create", "pods")).stdout).toBe("yes\n");
    expect((await k("auth", "can-i", "delete", "nodes", "--as=jane")).stdout).toBe("yes\n");
    expect((await k("auth", "can-i", "get", "/healthz")).stdout).toBe("yes\n");
    expect((await k("auth", "can-i", "--list")).stdout).toMatch(/^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
  });

  it("approves and denies certificate signing requests with kubectl certificate", async () => {
    const key = join(cluster.workDir, "jane.key");
    execFileSync("openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-subj", "/CN=jane/O=devs", "-out", join(cluster.workDir, "jane.csr")], { stdio: "ignore" });
    const request = readFileSync(join(cluster.workDir, "jane.csr")).toString("base64");
    const csr = (name: string, seconds: number): string =>
      JSON.stringify({ apiVersion: "certificates.k8s.io/v1", kind: "CertificateSigningRequest", metadata: { name }, spec: { request, signerName: "kubernetes.io/kube-apiserver-client", expirationSeconds: seconds, usages: ["client auth"] } });
    expect((await cluster.kubectl(["create", "-f", "-"], { stdin: csr("jane", 86400) })).stdout).toBe("certificatesigningrequest.certificates.k8s.io/jane created\n");
    expect((await cluster.kubectl(["create", "-f", "-"], { stdin: csr("mallory", 3600) })).stdout).toBe("certificatesigningrequest.certificates.k8s.io/mallory created\n");
    const pending = await k("get", "csr");
    expect(pending.stdout).toMatch(/^NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION$/m);
    expect(pending.stdout).toMatch(/^jane\s+\d+s\s+kubernetes\.io\/kube-apiserver-client\s+system:unsecured\s+24h\s+Pending$/m);
    expect((await k("certificate", "approve", "jane")).stdout).toBe("certificatesigningrequest.certificates.k8s.io/jane approved\n");
    expect((await k("certificate", "deny", "mallory")).stdout).toBe("certificatesigningrequest.certificates.k8s.io/mallory denied\n");
    const decided = await k("get", "csr");
    expect(decided.stdout).toMatch(/^jane\s+.*\s+Approved$/m);
    expect(decided.stdout).toMatch(/^mallory\s+.*\s+Denied$/m);
    const conditions = JSON.parse((await k("get", "csr", "jane", "-o", "jsonpath={.status.conditions}")).stdout) as { type: string; status: string; reason: string; lastTransitionTime?: string }[];
    expect(conditions).toEqual([expect.objectContaining({ type: "Approved", status: "True", reason: "KubectlApprove", lastTransitionTime: expect.any(String) as string })]);
    expect((await kFail("certificate", "deny", "jane")).stderr).toContain('certificate signing request "jane" is already Approved');
    // kubectl refuses that itself; the apiserver refuses it too.
    const approved = JSON.parse((await k("get", "csr", "jane", "-o", "json")).stdout) as { status: { conditions: unknown[] } };
    approved.status.conditions.push({ type: "Denied", status: "True", reason: "Changed" });
    const both = await fetchAs(cluster.api, `/apis/certificates.k8s.io/v1/certificatesigningrequests/jane/approval`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(approved) });
    expect(both.status).toBe(422);
    expect(((await both.json()) as { message: string }).message).toContain("Approved and Denied conditions are mutually exclusive");
    // /approval takes PATCH too (the CSR conformance test): conditions and metadata, never the spec.
    const patch = { metadata: { annotations: { patchedapproval: "true" } }, status: { conditions: [{ type: "ApprovalPatch", status: "True", reason: "e2e" }] }, spec: { expirationSeconds: 600 } };
    await cluster.kubectl(["create", "-f", "-"], { stdin: csr("patchy", 3600) });
    const patchedReply = await fetchAs(cluster.api, `/apis/certificates.k8s.io/v1/certificatesigningrequests/patchy/approval`, { method: "PATCH", headers: { "Content-Type": "application/merge-patch+json" }, body: JSON.stringify(patch) });
    expect(patchedReply.status).toBe(200);
    const patched = (await patchedReply.json()) as { metadata: { annotations?: Record<string, string> }; spec: { expirationSeconds: number }; status: { conditions: { type: string }[] } };
    expect(patched.metadata.annotations).toEqual({ patchedapproval: "true" });
    expect(patched.spec.expirationSeconds).toBe(3600);
    expect(patched.status.conditions.map((c) => c.type)).toEqual(["ApprovalPatch"]);
  });
});
