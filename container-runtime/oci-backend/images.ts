// The CRI image service over the on-disk OCI image store: the lab's offline tutorial images are built into the
// store at start (so they are present under every pull policy, offline), a pull of an absent image goes to its
// registry, and an image found nowhere fails NOT_FOUND like the fake backend's (the kubelet reports any PullImage
// failure as ErrImagePull, then ImagePullBackOff).
import { CriError, GrpcStatus, invalidArgument, notFound } from "../../client/cri/errors.js";
import type * as cri from "../../client/cri/types.js";
import type { ImageBackend } from "../backend.js";
import { ensureOfflineImages, type OfflineImagesOptions } from "../images/offline.js";
import { InvalidReferenceError } from "../../api/image-reference.js";
import { ImageNotFoundError, type ImageRecord, type ImageStore, type Puller } from "../images/store.js";

export interface OciImageBackendOptions {
  store: ImageStore;
  /** Fetches what the store lacks; without one, only present (offline) images can be pulled. */
  puller?: Puller;
  /** Built into the store at start unless false. */
  offlineImages?: OfflineImagesOptions | false;
  /** References that RemoveImage keeps (the sandbox image). */
  pinned?: readonly string[];
}

export class OciImageBackend implements ImageBackend {
  private pinnedIds = new Set<string>();

  constructor(private readonly options: OciImageBackendOptions) {}

  get store(): ImageStore {
    return this.options.store;
  }

  async start(): Promise<void> {
    if (this.options.offlineImages !== false) await ensureOfflineImages(this.options.store, this.options.offlineImages ?? {});
    for (const reference of this.options.pinned ?? []) {
      const record = await this.options.store.status(reference).catch(() => undefined);
      if (record !== undefined) this.pinnedIds.add(record.id);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async pullImage(request: cri.PullImageRequest): Promise<string> {
    const reference = request.image.image;
    if (reference === "") throw invalidArgument("PullImageRequest.Image.Image must not be empty");
    const present = await this.lookup(reference);
    if (present !== undefined) return present.id;
    const puller = this.options.puller;
    if (puller === undefined) throw notFound(`failed to pull image "${reference}": not in the local store and no registry is configured`);
    try {
      const auth = request.auth !== undefined && request.auth.username !== "" ? { auth: { username: request.auth.username, password: request.auth.password } } : {};
      return (await puller.pull(this.options.store, reference, auth)).id;
    } catch (err) {
      if (err instanceof InvalidReferenceError) throw invalidArgument(`failed to pull image "${reference}": ${err.message}`);
      // Not found, unreachable or refused: the image cannot be had from anywhere this node reaches.
      throw new CriError(GrpcStatus.NOT_FOUND, `failed to pull image "${reference}": ${describe(err)}`, { cause: err });
    }
  }

  async listImages(filter: cri.ImageSpec | undefined): Promise<cri.Image[]> {
    if (filter !== undefined && filter.image !== "") {
      const found = await this.lookup(filter.image);
      return found === undefined ? [] : [this.toImage(found)];
    }
    return (await this.options.store.list()).map((record) => this.toImage(record));
  }

  async imageStatus(spec: cri.ImageSpec): Promise<cri.Image | undefined> {
    const found = await this.lookup(spec.image);
    return found === undefined ? undefined : this.toImage(found);
  }

  async removeImage(spec: cri.ImageSpec): Promise<void> {
    const found = await this.lookup(spec.image);
    if (found === undefined || this.pinnedIds.has(found.id)) return;
    try {
      await this.options.store.remove(spec.image);
    } catch (err) {
      if (!(err instanceof ImageNotFoundError)) throw err;
    }
  }

  async imageFsInfo(): Promise<cri.ImageFsInfoResponse> {
    const info = await this.options.store.fsInfo();
    const timestamp = BigInt(Date.now()) * 1_000_000n;
    return { imageFilesystems: [{ timestamp, mountpoint: info.root, usedBytes: info.usedBytes, inodesUsed: info.inodesUsed }], containerFilesystems: [] };
  }

  /** The image a reference or id names; a malformed reference is simply not present. */
  async lookup(reference: string): Promise<ImageRecord | undefined> {
    if (reference === "") return undefined;
    try {
      return await this.options.store.status(reference);
    } catch (err) {
      if (err instanceof InvalidReferenceError) return undefined;
      throw err;
    }
  }

  private toImage(record: ImageRecord): cri.Image {
    const user = record.config.config?.User ?? "";
    const uid = /^\d+/.exec(user);
    return {
      id: record.id,
      repoTags: [...record.repoTags],
      repoDigests: [...record.repoDigests],
      size: record.size,
      ...(uid !== null ? { uid: Number(uid[0]) } : {}),
      username: uid === null ? user.split(":")[0] ?? "" : "",
      spec: { image: record.id, annotations: {}, userSpecifiedImage: "", runtimeHandler: "" },
      pinned: this.pinnedIds.has(record.id),
    };
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}
