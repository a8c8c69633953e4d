import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clientConfigFromFlags, inClusterConfig, KubeconfigError, kubeconfigYaml, loadKubeconfig, parseKubeconfig, writeKubeconfigFile } from "./kubeconfig.js";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const kubeconfig = (extra = "") => `
apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: ${Buffer.from(CA).toString("base64")}
- name: lab
  cluster:
    server: http://10.0.0.1:8080
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: s3cr3t
contexts:
- name: dev
  context: {cluster: dev, user: admin, namespace: team-a}
- name: lab
  context: {cluster: lab, user: ""}
current-context: dev
${extra}`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("parseKubeconfig", () => {
  it("resolves the current context to server, namespace, token and CA", () => {
    expect(parseKubeconfig(kubeconfig())).toEqual({ server: "https://127.0.0.1:6443", namespace: "team-a", token: "s3cr3t", caData: CA });
  });

  it("uses another context on request, defaulting the namespace", () => {
    expect(parseKubeconfig(kubeconfig(), { context: "lab" })).toEqual({ server: "http://10.0.0.1:8080", namespace: "default", insecureSkipTLSVerify: true });
  });

  it.each([
    ["a missing current-context", kubeconfig().replace("current-context: dev", ""), /no current-context/],
    ["an unknown context", kubeconfig().replace("current-context: dev", "current-context: nope"), /context "nope" does not exist/],
    ["an unknown cluster", kubeconfig().replace("{cluster: dev,", "{cluster: gone,"), /cluster "gone"/],
    ["a non-boolean insecure flag", kubeconfig().replace("insecure-skip-tls-verify: true", "insecure-skip-tls-verify: yes-please").replace("current-context: dev", "current-context: lab"), /insecure-skip-tls-verify: expected a boolean/],
    ["a cluster without server", kubeconfig().replace("server: https://127.0.0.1:6443/", "proxy-url: x"), /clusters\[dev\]\.cluster\.server: required/],
    ["not YAML", "a: [", /not valid YAML/],
  ])("names the problem for %s", (_title, text, message) => {
    expect(() => parseKubeconfig(text)).toThrow(KubeconfigError);
    expect(() => parseKubeconfig(text)).toThrow(message);
  });

  it("reads token files and CA files relative to the kubeconfig", () => {
    writeFileSync(join(dir, "token"), "from-file\n");
    writeFileSync(join(dir, "ca.crt"), CA);
    const text = `
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority: ca.crt}}]
users: [{name: u, user: {tokenFile: token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;
    writeFileSync(join(dir, "config"), text);
    expect(loadKubeconfig(join(dir, "config"))).toEqual({ server: "https://h:1", namespace: "default", token: "from-file", caData: CA });
  });
});

describe("clientConfigFromFlags", () => {
  it("lets --master win over the kubeconfig's server", () => {
    writeFileSync(join(dir, "config"), kubeconfig());
    expect(clientConfigFromFlags({ master: "http://127.0.0.1:8080", kubeconfig: join(dir, "config") })).toMatchObject({ server: "http://127.0.0.1:8080", token: "s3cr3t", namespace: "team-a" });
  });

  it("uses --master alone without any kubeconfig", () => {
    expect(clientConfigFromFlags({ master: "http://127.0.0.1:8080" }, { env: {}, home: dir })).toEqual({ server: "http://127.0.0.1:8080", namespace: "default" });
  });

  it("falls back to $KUBECONFIG (first file wins when merging), then ~/.kube/config", () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    writeFileSync(a, `clusters: [{name: dev, cluster: {server: "http://first:1"}}]\n`);
    writeFileSync(b, kubeconfig());
    expect(clientConfigFromFlags({}, { env: { KUBECONFIG: `${a}:${join(dir, "missing")}:${b}` }, home: dir })).toMatchObject({ server: "http://first:1", token: "s3cr3t" });

    mkdirSync(join(dir, ".kube"));
    writeFileSync(join(dir, ".kube", "config"), kubeconfig().replace("current-context: dev", "current-context: lab"));
    expect(clientConfigFromFlags({}, { env: {}, home: dir })).toMatchObject({ server: "http://10.0.0.1:8080" });
  });

  it("fails clearly when nothing is configured", () => {
    expect(() => clientConfigFromFlags({}, { env: {}, home: dir })).toThrow(/no configuration has been provided/);
  });
});

describe("inClusterConfig", () => {
  it("reads the service account mount", () => {
    writeFileSync(join(dir, "token"), "sa-token");
    writeFileSync(join(dir, "namespace"), "kube-system");
    expect(inClusterConfig({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, dir)).toEqual({ server: "https://10.96.0.1:443", namespace: "kube-system", token: "sa-token" });
    expect(inClusterConfig({}, dir)).toBeUndefined();
  });
});

describe("kubeconfigYaml", () => {
  it.each([
    ["plain HTTP, no credentials", { server: "http://127.0.0.1:8080", namespace: "default" }],
    ["TLS with a client certificate", { server: "https://127.0.0.1:6443", namespace: "default", caData: CA, clientCertData: CA.replace("MIIB", "MIIC"), clientKeyData: "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n" }],
    ["TLS with a token in a namespace", { server: "https://10.96.0.1", namespace: "team-a", caData: CA, token: "abc.def" }],
  ])("writes a kubeconfig parseKubeconfig reads back unchanged: %s", (_what, config) => {
    expect(parseKubeconfig(kubeconfigYaml(config))).toEqual(config);
  });

  it("embeds certificates as base64 data under the names given, and writes the file 0600", () => {
    const yaml = kubeconfigYaml({ server: "https://h:6443", namespace: "default", caData: CA }, { cluster: "kubernetes", user: "kubernetes-admin", context: "kubernetes-admin@kubernetes" });
    expect(yaml).toContain(`certificate-authority-data: ${Buffer.from(CA).toString("base64")}`);
    expect(yaml).toContain("current-context: kubernetes-admin@kubernetes");
    const path = join(dir, "sub", "admin.conf");
    writeKubeconfigFile(path, { server: "https://h:6443", namespace: "default", token: "t" });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadKubeconfig(path)).toEqual({ server: "https://h:6443", namespace: "default", token: "t" });
    expect(readFileSync(path, "utf8")).toContain("token: t");
  });
});
