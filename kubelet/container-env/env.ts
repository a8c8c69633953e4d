// CONTRACT (placeholder until the container-environment work lands): the environment Kubernetes gives a
// container (env, valueFrom, envFrom, service variables).
import type * as cri from "../../client/cri/types.js";
import type { ConfigMap, Container, Pod, Secret, Service } from "../../api/types/index.js";

export interface EnvSources {
  /** The Services of the pod's namespace, plus `kubernetes` of `default` (the master service). */
  services(namespace: string): readonly Readonly<Service>[];
  getConfigMap(namespace: string, name: string): Promise<Readonly<ConfigMap> | undefined>;
  getSecret(namespace: string, name: string): Promise<Readonly<Secret> | undefined>;
  nodeName: string;
  nodeIP: string;
}

/** A reference that cannot be resolved (missing ConfigMap/Secret/key not marked optional): CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override name = "ContainerConfigError";
}

/** The container's environment in Kubernetes' order; podIPs are the sandbox's. Throws ContainerConfigError. */
export function makeEnvironment(
  _pod: Readonly<Pod>,
  container: Readonly<Container>,
  _podIPs: readonly string[],
  _sources: EnvSources,
): Promise<cri.KeyValue[]> {
  return Promise.resolve((container.env ?? []).map((e) => ({ key: e.name, value: e.value ?? "" })));
}
