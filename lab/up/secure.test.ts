// `kubelab up`'s secure plan (the default): every component's flags with the lab's PKI (SECURITY.md), and the insecure lab's
// plan unchanged.
import { describe, expect, it } from "vitest";
import { labToolsRbac } from "../pki/rbac.js";
import { labClientConfig } from "./api.js";
import { apiserverUrl, controlPlane, metricsServerPlan, nodeComponents, nodePlan, type LabConfig, type PlannedComponent } from "./config.js";
import { TEST_CONFIG } from "./testing.js";

const SECURE: LabConfig = { ...TEST_CONFIG, secure: true, securePort: 6443, metricsServerPort: 4443 };
const P = "/h/pki";

function argsOf(planned: readonly PlannedComponent[], kind: string): readonly string[] {
  const found = planned.find((p) => p.component.kind === kind);
  if (!found) throw new Error(`no ${kind}`);
  return found.component.args;
}

describe("kubelab up (secure)", () => {
  it("runs the apiserver on HTTPS only with the PKI's files, Node,RBAC and NodeRestriction, ready when /readyz answers over TLS", () => {
    const apiserver = controlPlane(SECURE).find((p) => p.component.kind === "kube-apiserver");
    expect(apiserver?.component.args).toEqual(
      expect.arrayContaining([
        "--insecure-port=0",
        "--secure-port=6443",
        "--bind-address=172.30.0.1",
        `--tls-cert-file=${P}/apiserver.crt`,
        `--tls-private-key-file=${P}/apiserver.key`,
        `--client-ca-file=${P}/ca.crt`,
        `--service-account-key-file=${P}/sa.pub`,
        `--service-account-signing-key-file=${P}/sa.key`,
        `--kubelet-client-certificate=${P}/apiserver-kubelet-client.crt`,
        `--kubelet-client-key=${P}/apiserver-kubelet-client.key`,
        `--kubelet-certificate-authority=${P}/ca.crt`,
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--advertise-address=172.30.0.1",
        // kubeadm's front proxy: the aggregator's client certificate and the headers it names users in.
        `--requestheader-client-ca-file=${P}/front-proxy-ca.crt`,
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        `--proxy-client-cert-file=${P}/front-proxy-client.crt`,
        `--proxy-client-key-file=${P}/front-proxy-client.key`,
      ]),
    );
    expect(apiserver?.component.args.some((a) => a.startsWith("--insecure-bind-address"))).toBe(false);
    expect(apiserver?.component.readiness).toEqual({ kind: "http", url: "https://172.30.0.1:6443/readyz", caFile: `${P}/ca.crt` });
    expect(apiserver?.metricsUrl).toBe("https://172.30.0.1:6443/metrics");
    expect(apiserverUrl(SECURE)).toBe("https://172.30.0.1:6443");
  });

  it("scrapes a secure kubelet's metrics on its authenticated API port", () => {
    const kubelet = nodeComponents(SECURE, nodePlan(SECURE, 1)).find((p) => p.component.kind === "kubelet");
    expect(kubelet?.metricsUrl).toBe("https://172.30.0.11:10250/metrics");
  });

  it("gives every client component --kubeconfig with its own identity and no --master", () => {
    const plane = controlPlane(SECURE);
    expect(argsOf(plane, "kube-scheduler")).toContain(`--kubeconfig=${P}/scheduler.conf`);
    expect(argsOf(plane, "kube-controller-manager")).toEqual(
      expect.arrayContaining([`--kubeconfig=${P}/controller-manager.conf`, `--cluster-signing-cert-file=${P}/ca.crt`, `--cluster-signing-key-file=${P}/ca.key`, `--root-ca-file=${P}/ca.crt`, "--use-service-account-credentials=true"]),
    );
    expect(argsOf(plane, "kube-state-metrics")).toContain(`--kubeconfig=${P}/kube-state-metrics.conf`);
    expect(argsOf(plane, "kubelab-ui")).toContain(`--kubeconfig=${P}/kubelab-ui.conf`);
    expect(metricsServerPlan(SECURE)?.component.args).toContain(`--kubeconfig=${P}/metrics-server.conf`);
    const node = nodeComponents(SECURE, nodePlan(SECURE, 2));
    // Inside the node's namespace (nsenter), the kubelet's own flags follow its entry point.
    expect(argsOf(node, "kubelet")).toEqual(
      expect.arrayContaining([
        `--kubeconfig=${P}/nodes/node-2/kubelet.conf`,
        `--tls-cert-file=${P}/nodes/node-2/kubelet.crt`,
        `--tls-private-key-file=${P}/nodes/node-2/kubelet.key`,
        `--client-ca-file=${P}/ca.crt`,
        "--anonymous-auth=false",
        "--authentication-token-webhook",
        "--authorization-mode=Webhook",
      ]),
    );
    expect(argsOf(node, "kube-proxy")).toContain(`--kubeconfig=${P}/kube-proxy.conf`);
    for (const planned of [...plane, ...node, metricsServerPlan(SECURE)]) {
      expect(planned?.component.args.some((a) => a.startsWith("--master")), planned?.component.name).toBe(false);
    }
  });

  it("leaves the insecure lab's plan as it was: --master everywhere, no TLS flags", () => {
    const plan = [...controlPlane(TEST_CONFIG), ...nodeComponents(TEST_CONFIG, nodePlan(TEST_CONFIG, 1))];
    const args = plan.flatMap((p) => p.component.args);
    expect(args.filter((a) => /^--(kubeconfig|tls-|client-ca-file|secure-port|cluster-signing|use-service-account-credentials|authorization-mode)/.test(a) && a !== "--secure-port=0")).toEqual([]);
    expect(argsOf(plan, "kube-apiserver")).toEqual(expect.arrayContaining(["--insecure-port=8080", "--insecure-bind-address=172.30.0.1"]));
    expect(argsOf(plan, "kube-scheduler")).toContain("--master=http://172.30.0.1:8080");
    expect(labClientConfig(TEST_CONFIG)).toEqual({ server: apiserverUrl(TEST_CONFIG), namespace: "default" });
  });

  it("binds each lab tool's identity through the lab's own ClusterRoleBindings, and not the controller-manager's", () => {
    const bindings = labToolsRbac().filter((o) => o.kind === "ClusterRoleBinding") as { roleRef: { name: string }; subjects: { name: string }[] }[];
    expect(bindings.map((b) => [b.subjects[0]?.name, b.roleRef.name])).toEqual([
      ["system:kubelab:kube-state-metrics", "kubelab:read-only"],
      ["system:kubelab:metrics-server", "kubelab:metrics-server"],
      ["system:kubelab:metrics-server", "system:auth-delegator"],
      ["system:kubelab:kubelab-ui", "cluster-admin"],
      ["system:kubelab:prometheus", "kubelab:prometheus"],
    ]);
  });
});

describe("kubelab up (secure): etcd as kubeadm runs it", () => {
  it("serves etcd's clients and peers over TLS with client certificates, probes and scrapes its plain metrics port, and gives the apiserver its client pair", () => {
    const plan = controlPlane({ ...SECURE, etcdMetricsPort: 12381 });
    const etcd = plan.find((p) => p.component.kind === "etcd");
    expect(etcd?.component.args).toEqual(
      expect.arrayContaining([
        "--listen-client-urls=https://127.0.0.1:12379",
        "--advertise-client-urls=https://127.0.0.1:12379",
        "--initial-cluster=etcd=https://127.0.0.1:12380",
        "--client-cert-auth=true",
        `--trusted-ca-file=${P}/etcd/ca.crt`,
        `--cert-file=${P}/etcd/server.crt`,
        `--key-file=${P}/etcd/server.key`,
        "--peer-client-cert-auth=true",
        `--peer-trusted-ca-file=${P}/etcd/ca.crt`,
        `--peer-cert-file=${P}/etcd/peer.crt`,
        `--peer-key-file=${P}/etcd/peer.key`,
        "--listen-metrics-urls=http://127.0.0.1:12381",
      ]),
    );
    expect(etcd?.component.readiness).toEqual({ kind: "http", url: "http://127.0.0.1:12381/health" });
    expect(etcd?.metricsUrl).toBe("http://127.0.0.1:12381/metrics");
    expect(argsOf(plan, "kube-apiserver")).toEqual(
      expect.arrayContaining(["--etcd-servers=https://127.0.0.1:12379", `--etcd-cafile=${P}/etcd/ca.crt`, `--etcd-certfile=${P}/apiserver-etcd-client.crt`, `--etcd-keyfile=${P}/apiserver-etcd-client.key`]),
    );
  });

  it("keeps plain etcd in an insecure lab, and in a secure lab recorded before etcd had TLS (no metrics port)", () => {
    for (const config of [TEST_CONFIG, SECURE]) {
      const plan = controlPlane(config);
      expect(argsOf(plan, "etcd")).toContain("--listen-client-urls=http://127.0.0.1:12379");
      expect(argsOf(plan, "etcd").some((a) => a.startsWith("--cert-file") || a.startsWith("--client-cert-auth"))).toBe(false);
      expect(argsOf(plan, "kube-apiserver")).toContain("--etcd-servers=http://127.0.0.1:12379");
      expect(argsOf(plan, "kube-apiserver").some((a) => a.startsWith("--etcd-cafile"))).toBe(false);
    }
  });
});
