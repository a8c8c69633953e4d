// An in-memory image service for hollow nodes and tests: a fake "registry" of known references (by default the
// lab's offline tutorial images), pulling one of them makes it present, anything else fails NOT_FOUND the way a
// registry without the image does (the kubelet turns that into ErrImagePull, then ImagePullBackOff). Present
// images persist under the daemon's --root when a store directory is given. Ids are sha256 digests of the
// normalized reference, so they are stable across restarts and nodes.
import { createHash } from "node:crypto";
import { notFound } from "../../client/cri/errors.js";
import type * as cri from "../../client/cri/types.js";
import type { ImageBackend } from "../backend.js";
import { RecordStore } from "../state.js";

/** The tutorial images the lab has offline; the fake registry holds them unless told otherwise. */
export const TUTORIAL_IMAGES: readonly string[] = [
  "jocatalin/kubernetes-bootcamp:v1",
  "jocatalin/kubernetes-bootcamp:v2",
  "nginx:latest",
  "nginx:alpine",
  "busybox:latest",
  "fedora/apache:latest",
  "registry.k8s.io/pause:3.10",
  "registry.k8s.io/e2e-test-images/agnhost:2.53",
  "spring2go/spring-petclinic:1.0.0.RELEASE",
  "spring2go/spring-petclinic:1.0.1.RELEASE",
  "mysql:5.7",
];

const FAKE_IMAGE_SIZE = 4 * 1024 * 1024;

/**
 * A reference in the fully qualified form Docker Hub names are given by the kubelet's peers: "nginx" →
 * "docker.io/library/nginx:latest", "foo/bar:1" → "docker.io/foo/bar:1"; a reference with a registry host or a
 * digest keeps it.
 */
export function normalizeReference(reference: string): string {
  let name = reference;
  let suffix = "";
  const at = name.indexOf("@");
  if (at >= 0) {
    suffix = name.slice(at);
    name = name.slice(0, at);
  } else {
    const lastSlash = name.lastIndexOf("/");
    const colon = name.lastIndexOf(":");
    if (colon > lastSlash) {
      suffix = name.slice(colon);
      name = name.slice(0, colon);
    } else {
      suffix = ":latest";
    }
  }
  const firstSlash = name.indexOf("/");
  const first = firstSlash < 0 ? "" : name.slice(0, firstSlash);
  const hasHost = first.includes(".") || first.includes(":") || first === "localhost";
  if (!hasHost) name = firstSlash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
  return `${name}${suffix}`;
}

export function fakeImageId(normalized: string): string {
  return `sha256:${createHash("sha256").update(normalized).digest("hex")}`;
}

interface ImageRecord {
  id: string;
  repoTags: string[];
  size: number;
  pinned: boolean;
}

function isImageRecord(v: unknown): v is ImageRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Partial<Record<keyof ImageRecord, unknown>>;
  return typeof r.id === "string" && Array.isArray(r.repoTags) && typeof r.size === "number" && typeof r.pinned === "boolean";
}

export interface FakeImagesOptions {
  /** What the fake registry can serve; defaults to TUTORIAL_IMAGES. */
  registry?: readonly string[];
  /** Present from the start and never removed (the sandbox image). */
  pinned?: readonly string[];
  /** Where present images persist; in memory only when absent. */
  stateDir?: string;
}

export class FakeImageBackend implements ImageBackend {
  private readonly registry: Set<string>;
  private readonly images = new Map<string, ImageRecord>();
  private readonly store: RecordStore<ImageRecord> | undefined;
  /** Every PullImage this backend answered, in order (for tests and kubemark-style assertions). */
  readonly pulls: string[] = [];

  constructor(private readonly options: FakeImagesOptions = {}) {
    this.registry = new Set((options.registry ?? TUTORIAL_IMAGES).map(normalizeReference));
    this.store = options.stateDir === undefined ? undefined : new RecordStore(options.stateDir, "images", isImageRecord);
  }

  start(): Promise<void> {
    if (this.store) for (const [id, record] of this.store.load().records) this.images.set(id.replace(/^sha256-/, "sha256:"), record);
    for (const reference of this.options.pinned ?? []) this.add(normalizeReference(reference), true);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private add(normalized: string, pinned: boolean): ImageRecord {
    const id = fakeImageId(normalized);
    const existing = this.images.get(id);
    const record: ImageRecord = existing ? { ...existing, pinned: existing.pinned || pinned } : { id, repoTags: [normalized], size: FAKE_IMAGE_SIZE, pinned };
    this.images.set(id, record);
    this.store?.save(id.replace(":", "-"), record);
    return record;
  }

  private find(reference: string): ImageRecord | undefined {
    if (reference === "") return undefined;
    const byId = this.images.get(reference) ?? this.images.get(`sha256:${reference}`);
    if (byId) return byId;
    const normalized = normalizeReference(reference);
    return [...this.images.values()].find((r) => r.repoTags.includes(normalized) || r.id.startsWith(`sha256:${reference}`));
  }

  pullImage(request: cri.PullImageRequest): Promise<string> {
    const normalized = normalizeReference(request.image.image);
    this.pulls.push(normalized);
    const present = this.find(request.image.image);
    if (present) return Promise.resolve(present.id);
    if (!this.registry.has(normalized)) {
      return Promise.reject(notFound(`failed to pull image "${request.image.image}": ${normalized}: not found (the fake registry holds ${this.registry.size} images)`));
    }
    return Promise.resolve(this.add(normalized, false).id);
  }

  listImages(filter: cri.ImageSpec | undefined): Promise<cri.Image[]> {
    const all = [...this.images.values()];
    const wanted = filter && filter.image !== "" ? this.find(filter.image) : undefined;
    const chosen = filter && filter.image !== "" ? (wanted ? [wanted] : []) : all;
    return Promise.resolve(chosen.map(toImage));
  }

  imageStatus(spec: cri.ImageSpec): Promise<cri.Image | undefined> {
    const found = this.find(spec.image);
    return Promise.resolve(found ? toImage(found) : undefined);
  }

  removeImage(spec: cri.ImageSpec): Promise<void> {
    const found = this.find(spec.image);
    if (found && !found.pinned) {
      this.images.delete(found.id);
      this.store?.delete(found.id.replace(":", "-"));
    }
    return Promise.resolve();
  }

  imageFsInfo(): Promise<cri.ImageFsInfoResponse> {
    const used = [...this.images.values()].reduce((sum, r) => sum + r.size, 0);
    const timestamp = BigInt(Date.now()) * 1_000_000n;
    return Promise.resolve({
      imageFilesystems: [{ timestamp, mountpoint: this.options.stateDir ?? "/var/lib/kubelab/images", usedBytes: used, inodesUsed: this.images.size }],
      containerFilesystems: [],
    });
  }
}

function toImage(record: ImageRecord): cri.Image {
  const name = record.repoTags[0] ?? "";
  const repo = name.replace(/:[^:/]+$/, "");
  return {
    id: record.id,
    repoTags: [...record.repoTags],
    repoDigests: repo === "" ? [] : [`${repo}@${record.id}`],
    size: record.size,
    uid: 0,
    username: "",
    spec: { image: record.id, annotations: {}, userSpecifiedImage: "", runtimeHandler: "" },
    pinned: record.pinned,
  };
}
