/**
 * Pulls images over the OCI distribution protocol (the Docker registry HTTP API v2) into the store.
 *
 * Manifests are fetched with every manifest media type the store reads in Accept; an index (manifest list)
 * gives the host platform's manifest (`addImage` chooses it). A 401 with a Bearer challenge is answered the
 * Docker Hub way: a token from the challenge's realm for its service and scope (anonymous, or with basic
 * credentials), then the request again with it. Every blob is verified against its digest by the store before
 * it is kept. Docker Hub's registry is reached at registry-1.docker.io; a mirror can stand in for any registry.
 */
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { type Descriptor, isDigest, MEDIA_TYPE, sha256Digest } from "./oci.js";
import { DEFAULT_REGISTRY, formatReference, parseImageReference, type ImageReference } from "../../api/image-reference.js";
import {
  type BlobSource,
  DigestMismatchError,
  ImageNotFoundError,
  type ImageRecord,
  type ImageStore,
  type Puller,
  type PullOptions,
} from "./store.js";

const MANIFEST_TYPES: readonly string[] = [
  MEDIA_TYPE.index,
  MEDIA_TYPE.manifest,
  MEDIA_TYPE.dockerManifestList,
  MEDIA_TYPE.dockerManifest,
];

export interface RegistryPullerOptions {
  /** Registry host → base URL to use instead, e.g. `{"docker.io": "http://127.0.0.1:5000"}`. */
  readonly mirrors?: Readonly<Record<string, string>>;
  /** Registries spoken to over plain HTTP (e.g. `127.0.0.1:5000`); loopback registries always are. */
  readonly plainHttp?: readonly string[];
  /** Injected for tests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

/** A registry answered with an error other than "not found"; `status` is its HTTP status. */
export class RegistryError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    detail: string,
  ) {
    super(`registry request ${url} failed: ${String(status)} ${detail}`);
    this.name = "RegistryError";
  }
}

interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses a WWW-Authenticate header such as `Bearer realm="https://auth",service="registry",scope="x"`. */
export function parseChallenge(header: string): Challenge {
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  const pattern = /([a-zA-Z_]+)="([^"]*)"|([a-zA-Z_]+)=([^,\s]+)/g;
  for (const match of (space < 0 ? "" : header.slice(space + 1)).matchAll(pattern)) {
    const key = match[1] ?? match[3];
    const value = match[2] ?? match[4];
    if (key !== undefined && value !== undefined) params[key.toLowerCase()] = value;
  }
  return { scheme, params };
}

function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "");
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

/** One repository on one registry, remembering the token it earned. */
class RegistrySession {
  private authorization: string | undefined;

  constructor(
    private readonly base: string,
    private readonly repository: string,
    private readonly fetchImpl: typeof fetch,
    private readonly options: PullOptions,
  ) {}

  private async token(challenge: Challenge): Promise<string | undefined> {
    const { auth } = this.options;
    const basic = auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` : undefined;
    if (challenge.scheme === "basic") return basic;
    const realm = challenge.params.realm;
    if (challenge.scheme !== "bearer" || realm === undefined) return undefined;
    const url = new URL(realm);
    const service = challenge.params.service;
    if (service !== undefined) url.searchParams.set("service", service);
    url.searchParams.set("scope", challenge.params.scope ?? `repository:${this.repository}:pull`);
    const response = await this.fetchImpl(url, {
      headers: basic !== undefined ? { Authorization: basic } : {},
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    if (!response.ok) throw new RegistryError(url.toString(), response.status, "token request refused");
    const body: unknown = await response.json();
    if (typeof body !== "object" || body === null) return undefined;
    const token = "token" in body ? body.token : "access_token" in body ? body.access_token : undefined;
    return typeof token === "string" ? `Bearer ${token}` : undefined;
  }

  /** GETs `path` under /v2/<repository>/, authenticating once on a 401. NotFound for 404. */
  async get(path: string, accept?: string): Promise<Response> {
    const url = `${this.base}/v2/${this.repository}/${path}`;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (accept !== undefined) headers.Accept = accept;
      if (this.authorization !== undefined) headers.Authorization = this.authorization;
      const response = await this.fetchImpl(url, {
        headers,
        ...(this.options.signal ? { signal: this.options.signal } : {}),
      });
      if (response.status === 401 && attempt === 0) {
        const header = response.headers.get("www-authenticate");
        await response.body?.cancel();
        const authorization = header !== null ? await this.token(parseChallenge(header)) : undefined;
        if (authorization === undefined) throw new RegistryError(url, 401, "unauthorized");
        this.authorization = authorization;
        continue;
      }
      if (response.status === 404) {
        await response.body?.cancel();
        throw new ImageNotFoundError(`${this.repository} ${path}`);
      }
      if (!response.ok) {
        const text = await response.text().catch(() => "");
        throw new RegistryError(url, response.status, text.slice(0, 200));
      }
      return response;
    }
  }
}

export class RegistryPuller implements Puller {
  private readonly mirrors: Readonly<Record<string, string>>;
  private readonly plainHttp: readonly string[];
  private readonly fetchImpl: typeof fetch;

  constructor(options: RegistryPullerOptions = {}) {
    this.mirrors = options.mirrors ?? {};
    this.plainHttp = options.plainHttp ?? [];
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The base URL for a registry: its mirror, Docker Hub's API host, or the registry itself. */
  endpoint(registry: string): string {
    const mirror = this.mirrors[registry];
    if (mirror !== undefined) return mirror.replace(/\/+$/, "");
    if (registry === DEFAULT_REGISTRY) return "https://registry-1.docker.io";
    const scheme = this.plainHttp.includes(registry) || isLoopback(registry) ? "http" : "https";
    return `${scheme}://${registry}`;
  }

  /**
   * Pulls `reference` into `store` and returns its record. Throws ImageNotFoundError when the registry has
   * no such repository, tag or digest, RegistryError for other refusals, DigestMismatchError for bad content.
   */
  async pull(store: ImageStore, reference: string, options: PullOptions = {}): Promise<ImageRecord> {
    const ref: ImageReference = parseImageReference(reference);
    const session = new RegistrySession(this.endpoint(ref.registry), ref.repository, this.fetchImpl, options);
    const response = await session.get(`manifests/${ref.digest ?? ref.tag ?? "latest"}`, MANIFEST_TYPES.join(", "));
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256Digest(bytes);
    const expected = ref.digest ?? response.headers.get("docker-content-digest") ?? digest;
    if (isDigest(expected) && expected !== digest) throw new DigestMismatchError(expected, digest);
    const mediaType = (response.headers.get("content-type") ?? MEDIA_TYPE.manifest).split(";")[0]?.trim() ?? "";
    const top: Descriptor = { mediaType, digest, size: bytes.length };
    const source: BlobSource = {
      open: async (descriptor) => {
        if (descriptor.digest === digest) return Readable.from([bytes]);
        const kind = MANIFEST_TYPES.includes(descriptor.mediaType) ? "manifests" : "blobs";
        const blob = await session.get(`${kind}/${descriptor.digest}`, kind === "manifests" ? descriptor.mediaType : undefined);
        if (blob.body === null) throw new RegistryError(descriptor.digest, blob.status, "empty body");
        return Readable.fromWeb(blob.body as WebReadableStream<Uint8Array>);
      },
    };
    // A tag names the image by that tag; a digest alone names it by `name@digest`.
    const name =
      ref.tag !== undefined
        ? formatReference({ registry: ref.registry, repository: ref.repository, tag: ref.tag })
        : formatReference(ref);
    return store.addImage(source, top, [name]);
  }
}
