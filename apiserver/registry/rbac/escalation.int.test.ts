// Privilege-escalation prevention on a real apiserver (TLS, --authorization-mode=Node,RBAC) with real users: a
// client certificate (authn-rbac-alice) and a static token (authn-rbac-bob), driven with the real kubectl. A user
// who may create Roles and RoleBindings can grant only what it holds, until it is given `escalate` / `bind`; the
// admin (system:masters) can do anything, but not when it impersonates the user.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "../../../component-base/pki/certificates.js";
import { runKubectl, startApiServerProcess, waitFor, type ApiServerProcess, type KubectlResult } from "../../../test/support/apiserver.js";
import { freePort, startEtcd, type EtcdHandle } from "../../../test/support/etcd.js";
import { testProcesses } from "../../../test/support/processes.js";

const NS = "authn-rbac-esc";
const BOB_TOKEN = "authn-rbac-bob-token";
const b64 = (text: string): string => Buffer.from(text).toString("base64");

let etcd: EtcdHandle | undefined;
let api: ApiServerProcess | undefined;
let work: string;
const configs: Record<"admin" | "alice" | "bob", string> = { admin: "", alice: "", bob: "" };

function kubeconfig(name: string, server: string, caPem: string, user: { cert?: CertificateAndKey; token?: string }): string {
  const fields = [...(user.cert ? [`client-certificate-data: ${b64(user.cert.certPem)}`, `client-key-data: ${b64(user.cert.keyPem)}`] : []), ...(user.token ? [`token: ${user.token}`] : [])];
  const path = join(work, `${name}.kubeconfig`);
  writeFileSync(path, ["apiVersion: v1", "kind: Config", `clusters: [{name: c, cluster: {server: "${server}", certificate-authority-data: ${b64(caPem)}}}]`, `users: [{name: u, user: {${fields.join(", ")}}}]`, `contexts: [{name: c, context: {cluster: c, user: u, namespace: ${NS}}}]`, "current-context: c", ""].join("\n"), { mode: 0o600 });
  return path;
}

function kubectl(who: keyof typeof configs, args: string[], allowFailure = false): Promise<KubectlResult> {
  return runKubectl(["--kubeconfig", configs[who], "--cache-dir", join(work, `cache-${who}`), ...args], { allowFailure });
}

/** Waits until `who` may `verb` `resource` (the authorizer follows bindings from its caches). */
async function waitUntilAllowed(who: keyof typeof configs, verb: string, resource: string): Promise<void> {
  await waitFor(`${who} to ${verb} ${resource}`, async () => ((await kubectl(who, ["auth", "can-i", verb, resource], true)).stdout.trim() === "yes" ? true : undefined), 15_000, 100);
}

beforeAll(async () => {
  etcd = await startEtcd();
  work = testProcesses.tempDir("authn-rbac-esc-int-", tmpdir());
  const ca = await createCertificateAuthority("authn-rbac-esc-ca");
  const serving = await issueCertificate(ca, { commonName: "kube-apiserver", usage: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  for (const [file, text] of [["ca.crt", ca.certPem], ["apiserver.crt", serving.certPem], ["apiserver.key", serving.keyPem], ["tokens.csv", `${BOB_TOKEN},authn-rbac-bob,1001,"authn-rbac-team"\n`]] as const) {
    writeFileSync(join(work, file), text, { mode: 0o600 });
  }
  const port = await freePort();
  api = await startApiServerProcess(etcd.endpoint, [
    `--secure-port=${port}`,
    "--bind-address=127.0.0.1",
    "--authorization-mode=Node,RBAC",
    `--client-ca-file=${join(work, "ca.crt")}`,
    `--token-auth-file=${join(work, "tokens.csv")}`,
    `--tls-cert-file=${join(work, "apiserver.crt")}`,
    `--tls-private-key-file=${join(work, "apiserver.key")}`,
  ]);
  const url = `https://127.0.0.1:${port}`;
  configs.admin = kubeconfig("admin", url, ca.certPem, { cert: await issueCertificate(ca, { commonName: "authn-rbac-admin", organizations: ["system:masters"], usage: "client" }) });
  configs.alice = kubeconfig("alice", url, ca.certPem, { cert: await issueCertificate(ca, { commonName: "authn-rbac-alice", usage: "client" }) });
  configs.bob = kubeconfig("bob", url, ca.certPem, { token: BOB_TOKEN });
  await kubectl("admin", ["create", "namespace", NS]);
  await kubectl("admin", ["create", "role", "rbac-writer", "--verb=create,get,list,update,patch", "--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,pods"]);
  await kubectl("admin", ["create", "clusterrole", "authn-rbac-secrets", "--verb=get", "--resource=secrets"]);
  await kubectl("admin", ["create", "clusterrole", "authn-rbac-configmaps", "--verb=get", "--resource=configmaps"]);
  await kubectl("admin", ["create", "rolebinding", "rbac-writers", "--role=rbac-writer", "--user=authn-rbac-alice", "--group=authn-rbac-team"]);
  await waitUntilAllowed("alice", "create", "roles");
  await waitUntilAllowed("bob", "create", "roles");
}, 90_000);

afterAll(async () => {
  await api?.stop("SIGKILL");
  await etcd?.destroy();
});

describe("privilege escalation prevention with real users and kubectl", () => {
  it("lets a certificate user create a Role it holds the rules of, and refuses one granting more", async () => {
    expect((await kubectl("alice", ["create", "role", "pod-readers", "--verb=get,list", "--resource=pods"])).stdout).toBe("role.rbac.authorization.k8s.io/pod-readers created\n");
    const refused = await kubectl("alice", ["create", "role", "pod-deleters", "--verb=get,delete", "--resource=pods,secrets"], true);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'roles.rbac.authorization.k8s.io "pod-deleters" is forbidden: user "authn-rbac-alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}',
    );
    expect((await kubectl("alice", ["get", "role", "pod-deleters"], true)).code).not.toBe(0);
  }, 60_000);

  it("lets a token user bind a role it holds, and refuses binding one it does not until it may `bind` it", async () => {
    expect((await kubectl("bob", ["create", "rolebinding", "carol-readers", "--role=pod-readers", "--user=carol"])).code).toBe(0);
    const refused = await kubectl("bob", ["create", "rolebinding", "carol-secrets", "--clusterrole=authn-rbac-secrets", "--user=carol"], true);
    expect(refused.stderr).toContain(
      'rolebindings.rbac.authorization.k8s.io "carol-secrets" is forbidden: user "authn-rbac-bob" (groups=["authn-rbac-team" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
    );
    await kubectl("admin", ["create", "role", "secrets-binder", "--verb=bind", "--resource=clusterroles.rbac.authorization.k8s.io", "--resource-name=authn-rbac-secrets"]);
    await kubectl("admin", ["create", "rolebinding", "secrets-binders", "--role=secrets-binder", "--group=authn-rbac-team"]);
    await waitUntilAllowed("bob", "bind", "clusterroles/authn-rbac-secrets");
    expect((await kubectl("bob", ["create", "rolebinding", "carol-secrets", "--clusterrole=authn-rbac-secrets", "--user=carol"])).code).toBe(0);
    // bind is limited to the role it names.
    expect((await kubectl("bob", ["create", "rolebinding", "carol-configmaps", "--clusterrole=authn-rbac-configmaps", "--user=carol"], true)).stderr).toContain("is attempting to grant RBAC permissions not currently held");
  }, 60_000);

  it("lets a user with `escalate` create any Role, and refuses the admin when it impersonates a user without it", async () => {
    await kubectl("admin", ["create", "role", "escalator", "--verb=escalate", "--resource=roles.rbac.authorization.k8s.io"]);
    await kubectl("admin", ["create", "rolebinding", "escalators", "--role=escalator", "--user=authn-rbac-alice"]);
    await waitUntilAllowed("alice", "escalate", "roles");
    expect((await kubectl("alice", ["create", "role", "secret-admin", "--verb=*", "--resource=secrets"])).code).toBe(0);
    expect((await kubectl("admin", ["create", "role", "secret-admin-2", "--verb=*", "--resource=secrets"])).code).toBe(0);
    const impersonated = await kubectl("admin", ["create", "role", "secret-admin-3", "--verb=*", "--resource=secrets", "--as=authn-rbac-dave", "--as-group=authn-rbac-team"], true);
    expect(impersonated.stderr).toContain('user "authn-rbac-dave" (groups=["authn-rbac-team" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:');
  }, 60_000);
});
