// What the runtime holds for one pod, read back through the CRI by the pod's uid label: its sandboxes and its
// containers (every attempt still present), newest first. The pod worker compares this with the pod's spec
// (actions.ts) and turns it into the API status (status.ts).
import { createHash } from "node:crypto";
import type * as cri from "../../client/cri/types.js";
import type { Container } from "../../api/types/index.js";
import { CONTAINER_HASH_ANNOTATION, CONTAINER_NAME_LABEL, CONTAINER_RESTART_COUNT_ANNOTATION } from "../runtime-labels.js";

export interface SandboxState {
  id: string;
  attempt: number;
  ready: boolean;
  createdAtMs: number;
  /** "" until the network is up (or for a host-network pod). */
  ip: string;
  additionalIps: string[];
}

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  name: string;
  attempt: number;
  state: cri.ContainerState;
  createdAtMs: number;
  /** 0 until started. */
  startedAtMs: number;
  /** 0 until exited. */
  finishedAtMs: number;
  exitCode: number;
  reason: string;
  message: string;
  /** The image as the runtime names it, and its resolved reference (the API's imageID). */
  image: string;
  imageRef: string;
  restartCount: number;
  /** The spec hash the container was created from (io.kubernetes.container.hash). */
  hash: string;
  logPath: string;
  annotations: Readonly<Record<string, string>>;
}

export interface PodRuntimeState {
  uid: string;
  /** Newest first. */
  sandboxes: SandboxState[];
  /** Newest first. */
  containers: ContainerRecord[];
}

export function emptyRuntimeState(uid: string): PodRuntimeState {
  return { uid, sandboxes: [], containers: [] };
}

/** The newest record of the container `name`, and the one before it. */
export function containerHistory(state: Readonly<PodRuntimeState>, name: string): ContainerRecord[] {
  return state.containers.filter((c) => c.name === name);
}

export function latestContainer(state: Readonly<PodRuntimeState>, name: string): ContainerRecord | undefined {
  return state.containers.find((c) => c.name === name);
}

export function nsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

export function sandboxStateFrom(status: cri.PodSandboxStatus): SandboxState {
  return {
    id: status.id,
    attempt: status.metadata.attempt,
    ready: status.state === "SANDBOX_READY",
    createdAtMs: nsToMs(status.createdAt),
    ip: status.network?.ip ?? "",
    additionalIps: status.network?.additionalIps ?? [],
  };
}

export function containerRecordFrom(status: cri.ContainerStatus, sandboxId: string): ContainerRecord {
  const restartCount = Number(status.annotations[CONTAINER_RESTART_COUNT_ANNOTATION] ?? status.metadata.attempt);
  return {
    id: status.id,
    sandboxId,
    name: status.labels[CONTAINER_NAME_LABEL] ?? status.metadata.name,
    attempt: status.metadata.attempt,
    state: status.state,
    createdAtMs: nsToMs(status.createdAt),
    startedAtMs: nsToMs(status.startedAt),
    finishedAtMs: nsToMs(status.finishedAt),
    exitCode: status.exitCode,
    reason: status.reason,
    message: status.message,
    image: status.image.image,
    imageRef: status.imageRef,
    restartCount: Number.isFinite(restartCount) ? restartCount : 0,
    hash: status.annotations[CONTAINER_HASH_ANNOTATION] ?? "",
    logPath: status.logPath,
    annotations: status.annotations,
  };
}

/**
 * The hash of what a running container was made from: a change (a new image) restarts it. Resources are left out,
 * as in Kubernetes, so they can change in place.
 */
export function containerHash(container: Readonly<Container>): string {
  const cached = containerHashes.get(container);
  if (cached !== undefined) return cached;
  const { resources: _resources, ...rest } = container;
  const hash = createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 8);
  if (Object.isFrozen(container)) containerHashes.set(container, hash);
  return hash;
}

/** Hashes of frozen containers (the informer's copies, which never change), computed once: every sync compares them. */
const containerHashes = new WeakMap<object, string>();
