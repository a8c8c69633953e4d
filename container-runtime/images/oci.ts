/**
 * The OCI image-spec documents the store reads and writes (manifest, image index, image config), the media
 * types it accepts (OCI and their Docker schema 2 twins), and guards that turn untrusted JSON into them.
 */
import { createHash } from "node:crypto";

export const MEDIA_TYPE = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerTar: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

/** The annotation an OCI layout uses to name the image a descriptor points at. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
/** containerd's export puts the full name here. */
export const CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name";

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly manifests: readonly Descriptor[];
}

/** The part of an image config a container runtime acts on. */
export interface ContainerConfig {
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, object>>;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly StopSignal?: string;
}

export interface ImageConfig {
  readonly created?: string;
  readonly architecture: string;
  readonly os: string;
  readonly config?: ContainerConfig;
  readonly rootfs: { readonly type: "layers"; readonly diff_ids: readonly string[] };
  readonly history?: readonly { readonly created?: string; readonly created_by?: string; readonly comment?: string }[];
}

/** Raised for a document that does not have the shape the spec gives it; `what` names the document. */
export class InvalidDocumentError extends Error {
  constructor(
    readonly what: string,
    reason: string,
  ) {
    super(`invalid ${what}: ${reason}`);
    this.name = "InvalidDocumentError";
  }
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function isDigest(value: unknown): value is string {
  return typeof value === "string" && DIGEST.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((item) => typeof item === "string");
}

function parseJson(what: string, bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error: unknown) {
    throw new InvalidDocumentError(what, error instanceof Error ? error.message : String(error));
  }
  if (!isRecord(value)) throw new InvalidDocumentError(what, "not a JSON object");
  return value;
}

export function toDescriptor(what: string, value: unknown): Descriptor {
  if (!isRecord(value)) throw new InvalidDocumentError(what, "descriptor is not an object");
  const { mediaType, digest, size, annotations, platform } = value;
  if (typeof mediaType !== "string") throw new InvalidDocumentError(what, "descriptor without mediaType");
  if (!isDigest(digest)) throw new InvalidDocumentError(what, `descriptor digest ${String(digest)} is not sha256`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidDocumentError(what, "descriptor size is not a non-negative integer");
  }
  let parsedPlatform: Platform | undefined;
  if (isRecord(platform) && typeof platform.architecture === "string" && typeof platform.os === "string") {
    const variant = platform.variant;
    parsedPlatform = {
      architecture: platform.architecture,
      os: platform.os,
      ...(typeof variant === "string" ? { variant } : {}),
    };
  }
  return {
    mediaType,
    digest,
    size,
    ...(isStringRecord(annotations) ? { annotations } : {}),
    ...(parsedPlatform !== undefined ? { platform: parsedPlatform } : {}),
  };
}

/** Whether a manifest's JSON (by its mediaType field, or its shape) is an index rather than an image manifest. */
export function isIndexDocument(bytes: Uint8Array): boolean {
  const doc = parseJson("manifest", bytes);
  return (
    doc.mediaType === MEDIA_TYPE.index ||
    doc.mediaType === MEDIA_TYPE.dockerManifestList ||
    (doc.mediaType === undefined && Array.isArray(doc.manifests))
  );
}

export function parseImageIndex(bytes: Uint8Array): ImageIndex {
  const doc = parseJson("image index", bytes);
  if (doc.schemaVersion !== 2) throw new InvalidDocumentError("image index", "schemaVersion is not 2");
  const manifests = doc.manifests;
  if (!Array.isArray(manifests)) throw new InvalidDocumentError("image index", "manifests is not a list");
  const mediaType = doc.mediaType;
  return {
    schemaVersion: 2,
    ...(typeof mediaType === "string" ? { mediaType } : {}),
    manifests: manifests.map((item: unknown) => toDescriptor("image index", item)),
  };
}

export function parseImageManifest(bytes: Uint8Array): ImageManifest {
  const doc = parseJson("image manifest", bytes);
  if (doc.schemaVersion !== 2) throw new InvalidDocumentError("image manifest", "schemaVersion is not 2");
  const layers = doc.layers;
  if (!Array.isArray(layers)) throw new InvalidDocumentError("image manifest", "layers is not a list");
  const mediaType = doc.mediaType;
  if (mediaType !== undefined && mediaType !== MEDIA_TYPE.manifest && mediaType !== MEDIA_TYPE.dockerManifest) {
    throw new InvalidDocumentError("image manifest", `unsupported mediaType ${JSON.stringify(mediaType)}`);
  }
  const annotations = doc.annotations;
  return {
    schemaVersion: 2,
    ...(typeof mediaType === "string" ? { mediaType } : {}),
    config: toDescriptor("image manifest config", doc.config),
    layers: layers.map((item: unknown) => toDescriptor("image manifest layer", item)),
    ...(isStringRecord(annotations) ? { annotations } : {}),
  };
}

function toContainerConfig(value: unknown): ContainerConfig {
  if (!isRecord(value)) return {};
  const { User, ExposedPorts, Env, Entrypoint, Cmd, WorkingDir, Labels, StopSignal } = value;
  return {
    ...(typeof User === "string" ? { User } : {}),
    ...(isRecord(ExposedPorts) ? { ExposedPorts: Object.fromEntries(Object.keys(ExposedPorts).map((k) => [k, {}])) } : {}),
    ...(isStringArray(Env) ? { Env } : {}),
    ...(isStringArray(Entrypoint) ? { Entrypoint } : {}),
    ...(isStringArray(Cmd) ? { Cmd } : {}),
    ...(typeof WorkingDir === "string" ? { WorkingDir } : {}),
    ...(isStringRecord(Labels) ? { Labels } : {}),
    ...(typeof StopSignal === "string" ? { StopSignal } : {}),
  };
}

/** Parses an image config (OCI or Docker's, which share the fields read here). */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  const doc = parseJson("image config", bytes);
  const { architecture, os, rootfs, created, config } = doc;
  if (typeof architecture !== "string" || typeof os !== "string") {
    throw new InvalidDocumentError("image config", "architecture and os must be strings");
  }
  if (!isRecord(rootfs) || rootfs.type !== "layers" || !isStringArray(rootfs.diff_ids)) {
    throw new InvalidDocumentError("image config", "rootfs must be {type: layers, diff_ids: [...]}");
  }
  const diffIds = rootfs.diff_ids;
  if (!diffIds.every(isDigest)) throw new InvalidDocumentError("image config", "a diff_id is not a sha256 digest");
  return {
    ...(typeof created === "string" ? { created } : {}),
    architecture,
    os,
    config: toContainerConfig(config),
    rootfs: { type: "layers", diff_ids: diffIds },
  };
}

/** The OCI architecture name of the machine this runs on. */
export function hostPlatform(): Platform {
  const architecture = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" }[
    process.arch as string
  ];
  return { architecture: architecture ?? process.arch, os: "linux" };
}

/** Picks the manifest for `platform` from an index; undefined when the index has none for it. */
export function chooseManifest(index: ImageIndex, platform: Platform = hostPlatform()): Descriptor | undefined {
  const images = index.manifests.filter(
    (d) => d.mediaType !== MEDIA_TYPE.index && d.mediaType !== MEDIA_TYPE.dockerManifestList,
  );
  const exact = images.find(
    (d) => d.platform?.os === platform.os && d.platform.architecture === platform.architecture,
  );
  if (exact !== undefined) return exact;
  // A descriptor without a platform is taken as fitting any, as single-image OCI layouts carry none.
  return images.find((d) => d.platform === undefined);
}
