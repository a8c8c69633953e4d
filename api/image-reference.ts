/**
 * Image references, normalized the way Docker and the CRI runtimes do it: a name without a registry lives on
 * Docker Hub (`docker.io`), an official image without a namespace lives under `library/`, and a reference with
 * neither tag nor digest means `:latest`. `nginx` and `docker.io/library/nginx:latest` name the same image.
 */

export const DEFAULT_REGISTRY = "docker.io";
export const DEFAULT_TAG = "latest";

/** A parsed reference. `tag` is absent only when a digest pins the image. */
export interface ImageReference {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Thrown for a string that is not an image reference; `reference` is the offending input. */
export class InvalidReferenceError extends Error {
  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`invalid image reference ${JSON.stringify(reference)}: ${reason}`);
    this.name = "InvalidReferenceError";
  }
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REGISTRY = /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;

/** Parses and normalizes `raw`; throws InvalidReferenceError when it is not a reference. */
export function parseImageReference(raw: string): ImageReference {
  let rest = raw.trim();
  if (rest === "") throw new InvalidReferenceError(raw, "empty");
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(raw, "digest must be sha256:<64 hex>");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(raw, `bad tag ${JSON.stringify(tag)}`);
  }
  let registry = DEFAULT_REGISTRY;
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  // The first component names a registry only when it looks like a host: a dot, a port or `localhost`.
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    if (!REGISTRY.test(first)) throw new InvalidReferenceError(raw, `bad registry ${JSON.stringify(first)}`);
    registry = first === "index.docker.io" || first === "registry-1.docker.io" ? DEFAULT_REGISTRY : first;
    rest = rest.slice(slash + 1);
  }
  if (registry === DEFAULT_REGISTRY && !rest.includes("/")) rest = `library/${rest}`;
  for (const component of rest.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      throw new InvalidReferenceError(raw, `bad repository component ${JSON.stringify(component)}`);
    }
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return {
    registry,
    repository: rest,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** `registry/repository`, the name without tag or digest. */
export function referenceName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full normalized form: `docker.io/library/nginx:latest`, `registry.k8s.io/pause@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  const tag = ref.tag !== undefined ? `:${ref.tag}` : "";
  const digest = ref.digest !== undefined ? `@${ref.digest}` : "";
  return `${referenceName(ref)}${tag}${digest}`;
}

/** Normalizes a reference string in one step; throws InvalidReferenceError. */
export function normalizeReference(raw: string): string {
  return formatReference(parseImageReference(raw));
}

/** The short form users type: `nginx:latest` for Docker Hub's official images, the full name elsewhere. */
export function familiarReference(ref: ImageReference): string {
  const full = formatReference(ref);
  if (ref.registry !== DEFAULT_REGISTRY) return full;
  const withoutRegistry = full.slice(DEFAULT_REGISTRY.length + 1);
  return withoutRegistry.startsWith("library/") ? withoutRegistry.slice("library/".length) : withoutRegistry;
}
