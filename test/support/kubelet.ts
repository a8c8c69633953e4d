// The kubelet as a test process (dist/kubelet/main.js, build first). Until the lab describes the kubelet as a
// component (lab/components/kubelet.ts), it is described here; the runner does not read `kind`.
import { join } from "node:path";
import type { Component } from "../../lab/components/component.js";
import { REPO_ROOT } from "../../lab/components/entries.js";

export interface TestKubeletOptions {
  name: string;
  master: string;
  nodeName: string;
  nodeIp: string;
  runtimeSocket: string;
  rootDir: string;
  port: number;
  healthzPort: number;
  extraArgs?: readonly string[];
}

export function kubeletTestComponent(o: TestKubeletOptions): Component {
  return {
    name: o.name,
    kind: "hollow-nodes",
    program: { kind: "node", entry: join(REPO_ROOT, "dist", "kubelet", "main.js") },
    args: [
      `--master=${o.master}`,
      `--hostname-override=${o.nodeName}`,
      `--node-ip=${o.nodeIp}`,
      `--container-runtime-endpoint=unix://${o.runtimeSocket}`,
      `--root-dir=${o.rootDir}`,
      `--port=${o.port}`,
      `--healthz-port=${o.healthzPort}`,
      "--healthz-bind-address=127.0.0.1",
      "--v=2",
      ...(o.extraArgs ?? []),
    ],
    ports: { http: o.healthzPort, kubelet: o.port },
    readiness: { kind: "http", url: `http://127.0.0.1:${o.healthzPort}/healthz` },
    links: ["kube-apiserver", "container-runtime"],
  };
}
