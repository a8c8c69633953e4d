import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { realApiServerArgs } from "../lab/components/real-kube-apiserver.js";
import { baselineApiServerMain, realApiServerPeers } from "./peers.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function peersDir(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "speedcreate-peers-"));
  dirs.push(dir);
  for (const f of files) {
    mkdirSync(join(dir, f, ".."), { recursive: true });
    writeFileSync(join(dir, f), "");
  }
  return dir;
}

describe("realApiServerPeers", () => {
  it("says why the real apiserver cannot be measured", () => {
    expect(realApiServerPeers({})).toEqual({ missing: expect.stringContaining("KUBELAB_PEERS is not set") as unknown });
    const partial = peersDir(["bin/kube-apiserver", "pki/tokens.csv"]);
    const answer = realApiServerPeers({ KUBELAB_PEERS: partial });
    expect("missing" in answer && answer.missing).toContain(join(partial, "pki", "sa.key"));
  });

  it("finds a complete folder", () => {
    const dir = peersDir(["bin/kube-apiserver", "pki/tokens.csv", "pki/sa.key", "pki/sa.pub", "pki/ca.crt"]);
    expect(realApiServerPeers({ KUBELAB_PEERS: dir })).toEqual({ dir });
  });
});

describe("realApiServerArgs", () => {
  it("serves TLS on loopback with the static token file and the etcd given", () => {
    const args = realApiServerArgs({ peersDir: "/peers", etcdServers: "http://127.0.0.1:2379", port: 6443, certDir: "/certs" });
    expect(args).toEqual(expect.arrayContaining(["--etcd-servers=http://127.0.0.1:2379", "--secure-port=6443", "--bind-address=127.0.0.1", "--cert-dir=/certs", "--token-auth-file=/peers/pki/tokens.csv", "--authorization-mode=AlwaysAllow"]));
  });
});

describe("baselineApiServerMain", () => {
  it("is absent unless KUBELAB_APISERVER_BASELINE_MAIN is set, and absolute when it is", () => {
    expect(baselineApiServerMain({})).toBeUndefined();
    expect(baselineApiServerMain({ KUBELAB_APISERVER_BASELINE_MAIN: "old/dist/apiserver/main.js" })).toBe(resolve("old/dist/apiserver/main.js"));
  });
});
