// The simulated registry of hollow nodes (--missing-images): every image exists except those matching a pattern.
// Hollow nodes run no containers, so "having" an image costs nothing and any workload starts; but a workload that
// names an image that does not exist must fail the way a real node fails it, or every test and tutorial that
// relies on a broken rollout ("update to an image that cannot be pulled, the old pods stay available") stalls.
// A missing image is never present and its pull fails NotFound, as containerd answers for an unknown tag; the
// kubelet's image manager turns that into ErrImagePull, then ImagePullBackOff (10 s doubling to 5 min), as on a
// real node.
//
// A pattern is matched, case-insensitively and as a whole, against the reference as written and against its
// normalized form ("webserver:404" is also "docker.io/library/webserver:404"); `*` matches any run of characters,
// "/" included. The default covers what users and Kubernetes' e2e suite write for "an image that does not exist":
// a name or tag saying so (`gcr.io/google_samples/gb-redisslave:nonexistent`, `nginx:does-not-exist`), the tag
// `404` (`webserver:404`), and registries on the reserved `invalid` names (`invalid.registry.k8s.io/invalid/alpine`,
// `example.invalid/app`, RFC 2606). Images that need credentials are not simulated: every other image pulls.
import { normalizeReference } from "../../api/image-reference.js";
import { CriError, GrpcStatus } from "../../client/cri/errors.js";

export const DEFAULT_MISSING_IMAGES: readonly string[] = ["*nonexistent*", "*non-existent*", "*does-not-exist*", "*doesnotexist*", "*:404", "invalid.*/*", "*.invalid/*"];

/** The characters of an image reference, plus `*`. */
const PATTERN = /^[A-Za-z0-9._\-/:@*[\]]+$/;

/** Thrown for a --missing-images value that is not a list of patterns. */
export class MissingImagesError extends Error {
  override name = "MissingImagesError";
}

/** How many answers isMissing remembers; a cluster names far fewer images (the memo is emptied when full). */
const MEMO_LIMIT = 4096;

export class MissingImages {
  private readonly matchers: readonly RegExp[];
  /** image → isMissing: every pod sync asks about every container's image, and normalizing plus matching is not free. */
  private readonly memo = new Map<string, boolean>();

  /** Throws MissingImagesError for a pattern with characters no image reference has (spaces, quotes, …). */
  constructor(readonly patterns: readonly string[]) {
    for (const pattern of patterns) {
      if (!PATTERN.test(pattern)) throw new MissingImagesError(`${JSON.stringify(pattern)} is not an image pattern (letters, digits, ._-/:@[] and *)`);
    }
    this.matchers = patterns.map(globToRegExp);
  }

  /** A comma-separated list; "" means the registry has every image. Blanks around the commas are ignored. */
  static parse(text: string): MissingImages {
    const patterns = text.trim() === "" ? [] : text.split(",").map((p) => p.trim());
    return new MissingImages(patterns);
  }

  /** Whether the simulated registry lacks `image`. */
  isMissing(image: string): boolean {
    if (this.matchers.length === 0) return false;
    const known = this.memo.get(image);
    if (known !== undefined) return known;
    const forms = [image];
    const normalized = normalizedOrUndefined(image);
    if (normalized !== undefined && normalized !== image) forms.push(normalized);
    const missing = this.matchers.some((m) => forms.some((form) => m.test(form)));
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(image, missing);
    return missing;
  }

  /** The error a pull of `image` fails with (containerd's text for an unknown reference), or undefined if it exists. */
  pullError(image: string): CriError | undefined {
    if (!this.isMissing(image)) return undefined;
    const ref = normalizedOrUndefined(image) ?? image;
    return new CriError(GrpcStatus.NOT_FOUND, `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`);
  }
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.\\+?^${}()|[\]]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "i");
}

function normalizedOrUndefined(image: string): string | undefined {
  try {
    return normalizeReference(image);
  } catch {
    return undefined;
  }
}
