// The kubelet as a test process (dist/kubelet/main.js, build first): the lab's description with the settings every
// kubelet test shares (loopback health port, verbose logs).
import { kubeletComponent } from "../../lab/components/kubelet.js";
import type { Component } from "../../lab/components/component.js";

export interface TestKubeletOptions {
  name: string;
  /** --master (the plain-HTTP apiserver) or --kubeconfig: one of them. */
  master?: string;
  kubeconfig?: string;
  nodeName: string;
  nodeIp: string;
  runtimeSocket: string;
  rootDir: string;
  port: number;
  healthzPort: number;
  extraArgs?: readonly string[];
}

export function kubeletTestComponent(o: TestKubeletOptions): Component {
  return kubeletComponent({
    name: o.name,
    ...(o.master !== undefined ? { master: o.master } : {}),
    ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
    hostnameOverride: o.nodeName,
    nodeIp: o.nodeIp,
    containerRuntimeEndpoint: `unix://${o.runtimeSocket}`,
    rootDir: o.rootDir,
    port: o.port,
    healthzPort: o.healthzPort,
    healthzBindAddress: "127.0.0.1",
    verbosity: 2,
    extraArgs: o.extraArgs ?? [],
  });
}
