// What every backend answers the same way about its sandbox and container records: the checks of a new sandbox
// or container (required names, one per name and attempt, a ready sandbox), the List entries, the order, and
// the log path. Backends differ in what runs; these rules do not.
import { CriError, failedPrecondition, GrpcStatus, invalidArgument, notFound } from "../client/cri/errors.js";
import type * as cri from "../client/cri/types.js";
import { resolveId } from "./filters.js";

/** The parts of a sandbox record the shared rules read. */
export interface SandboxLike {
  id: string;
  config: cri.PodSandboxConfig;
  runtimeHandler: string;
  state: cri.PodSandboxState;
  createdAt: bigint;
}

/** The parts of a container record the shared rules read. */
export interface ContainerLike {
  id: string;
  podSandboxId: string;
  config: cri.ContainerConfig;
  imageRef: string;
  createdAt: bigint;
}

/**
 * Refuses a RunPodSandbox the CRI does not allow: INVALID_ARGUMENT without name, namespace and uid, NOT_FOUND
 * for a runtime handler other than the default, ALREADY_EXISTS for a second sandbox of the same pod and attempt.
 */
export function checkNewSandbox(existing: Iterable<SandboxLike>, config: cri.PodSandboxConfig, runtimeHandler: string): void {
  const { name, namespace, uid, attempt } = config.metadata;
  if (name === "" || namespace === "" || uid === "") throw invalidArgument("PodSandboxConfig.Metadata must have a name, a namespace and a uid");
  if (runtimeHandler !== "") throw notFound(`no runtime for "${runtimeHandler}" is configured`);
  for (const other of existing) {
    const m = other.config.metadata;
    if (m.name === name && m.namespace === namespace && m.uid === uid && m.attempt === attempt) {
      throw new CriError(GrpcStatus.ALREADY_EXISTS, `pod sandbox ${namespace}/${name} attempt ${attempt} is already reserved by ${other.id}`);
    }
  }
}

/**
 * The sandbox a CreateContainer goes into, after the checks the CRI asks for: a name and an image, a known and
 * ready sandbox (NOT_FOUND, FAILED_PRECONDITION), one container per name and attempt in it (ALREADY_EXISTS).
 */
export function checkNewContainer<S extends SandboxLike>(sandboxes: ReadonlyMap<string, S>, containers: Iterable<ContainerLike>, request: cri.CreateContainerRequest): S {
  const { config } = request;
  if (config.metadata.name === "") throw invalidArgument("ContainerConfig.Metadata.Name must not be empty");
  if (config.image.image === "") throw invalidArgument("ContainerConfig.Image.Image must not be empty");
  const sandbox = resolveId(sandboxes, request.podSandboxId, "pod sandbox").record;
  if (sandbox.state !== "SANDBOX_READY") throw failedPrecondition(`pod sandbox ${sandbox.id} is not ready`);
  for (const other of containers) {
    if (other.podSandboxId === sandbox.id && other.config.metadata.name === config.metadata.name && other.config.metadata.attempt === config.metadata.attempt) {
      throw new CriError(GrpcStatus.ALREADY_EXISTS, `container ${config.metadata.name} attempt ${config.metadata.attempt} already exists in pod sandbox ${sandbox.id} as ${other.id}`);
    }
  }
  return sandbox;
}

/** Oldest first, as runtimes list. */
export function byCreation(a: { createdAt: bigint }, b: { createdAt: bigint }): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
}

/** The sandboxes a ListPodSandbox filter selects, as List entries, oldest first. */
export function listSandboxes(records: Iterable<SandboxLike>, filter: cri.PodSandboxFilter, matches: (s: SandboxLike) => boolean): cri.PodSandbox[] {
  return [...records]
    .filter((s) => (filter.state === undefined || s.state === filter.state) && matches(s))
    .sort(byCreation)
    .map((s) => ({ id: s.id, metadata: s.config.metadata, state: s.state, createdAt: s.createdAt, labels: s.config.labels, annotations: s.config.annotations, runtimeHandler: s.runtimeHandler }));
}

/** A container's ListContainers entry in the state the backend reads for it. */
export function containerEntry(c: ContainerLike, state: cri.ContainerState): cri.Container {
  return {
    id: c.id,
    podSandboxId: c.podSandboxId,
    metadata: c.config.metadata,
    image: c.config.image,
    imageRef: c.imageRef,
    imageId: c.imageRef,
    state,
    createdAt: c.createdAt,
    labels: c.config.labels,
    annotations: c.config.annotations,
  };
}

/** Runs a synchronous body as a promise, so a thrown CriError becomes a rejection. */
export function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** The record an id or unique prefix names, or undefined when none does (for the idempotent Remove calls). */
export function findRecord<T>(records: ReadonlyMap<string, T>, id: string): { id: string; record: T } | undefined {
  try {
    return resolveId(records, id, "object");
  } catch (err) {
    if (err instanceof CriError && err.code === GrpcStatus.NOT_FOUND) return undefined;
    throw err;
  }
}
