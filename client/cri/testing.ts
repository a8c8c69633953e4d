// Builders of CRI requests with every field at its zero value, for tests of both ends of the socket.
import { isCriError } from "./errors.js";
import { imageSpec, type ContainerConfig, type PodSandboxConfig } from "./types.js";

export function sandboxConfig(name: string, overrides: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  return {
    metadata: { name, namespace: "default", uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    logDirectory: `/var/log/pods/default_${name}_uid-${name}`,
    portMappings: [],
    labels: { "io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "default" },
    annotations: {},
    ...overrides,
  };
}

export function containerConfig(name: string, image: string, overrides: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: imageSpec(image),
    command: [],
    args: [],
    workingDir: "",
    envs: [],
    mounts: [],
    labels: { "io.kubernetes.container.name": name },
    annotations: {},
    logPath: `${name}/0.log`,
    stdin: false,
    stdinOnce: false,
    tty: false,
    stopSignal: "SIGNAL_RUNTIME_DEFAULT",
    ...overrides,
  };
}

/** How a CRI call ended: "OK", or the gRPC status name of its CriError (anything else as text). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "OK",
    (err: unknown) => (isCriError(err) ? err.codeName : String(err)),
  );
}
