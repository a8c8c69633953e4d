import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assembleImage, buildLayer, type BuiltImage } from "./offline.js";
import { hostPlatform, MEDIA_TYPE, sha256Digest } from "./oci.js";
import { parseChallenge, RegistryError, RegistryPuller } from "./registry-puller.js";
import { DigestMismatchError, ImageNotFoundError, ImageStore } from "./store.js";

const noWhiteouts = { whiteout: () => Promise.resolve(), opaque: () => Promise.resolve() };

interface FakeRegistry {
  readonly fetch: typeof fetch;
  readonly requests: string[];
}

/**
 * A registry on Docker Hub's terms: every /v2/ request needs `Bearer good-token`, which the token endpoint
 * hands out for the pull scope; `library/app:1` is an index with an arm64 entry and the host's manifest.
 */
function fakeRegistry(image: BuiltImage, options: { tamper?: boolean } = {}): FakeRegistry {
  const platform = hostPlatform();
  const otherArch = platform.architecture === "arm64" ? "amd64" : "arm64";
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.index,
      manifests: [
        { mediaType: MEDIA_TYPE.manifest, digest: `sha256:${"0".repeat(64)}`, size: 10, platform: { architecture: otherArch, os: "linux" } },
        { ...image.manifest, platform },
      ],
    }),
  );
  const requests: string[] = [];
  const fakeFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const headers = new Headers(init?.headers);
    requests.push(`${url.pathname}${url.search} ${headers.get("authorization") ?? "-"}`);
    if (url.hostname === "auth.example.com") {
      const ok = url.searchParams.get("scope") === "repository:library/app:pull" && url.searchParams.get("service") === "registry.example";
      return Promise.resolve(ok ? Response.json({ token: "good-token" }) : new Response("no", { status: 403 }));
    }
    if (headers.get("authorization") !== "Bearer good-token") {
      return Promise.resolve(
        new Response("", {
          status: 401,
          headers: { "WWW-Authenticate": 'Bearer realm="https://auth.example.com/token",service="registry.example",scope="repository:library/app:pull"' },
        }),
      );
    }
    const match = /^\/v2\/library\/app\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    const [, kind, id] = match ?? [];
    if (kind === "manifests" && id === "1") {
      return Promise.resolve(new Response(index, { headers: { "Content-Type": MEDIA_TYPE.index, "Docker-Content-Digest": sha256Digest(index) } }));
    }
    const bytes = id !== undefined ? image.blobs.get(id) : undefined;
    if (bytes === undefined) return Promise.resolve(new Response("unknown", { status: 404 }));
    const body = options.tamper === true && kind === "blobs" ? Buffer.from(bytes).fill(1, 0, 4) : Buffer.from(bytes);
    return Promise.resolve(new Response(body, { headers: { "Content-Type": kind === "manifests" ? MEDIA_TYPE.manifest : "application/octet-stream" } }));
  };
  return { fetch: fakeFetch, requests };
}

let work: string;
let image: BuiltImage;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "kubelab-pull-"));
  const layer = await buildLayer([{ type: "file", name: "hello", mode: 0o644, content: Buffer.from("hi\n") }], "test");
  image = assembleImage([layer], { Cmd: ["cat", "/hello"] }, ["app:1"]);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("RegistryPuller", () => {
  it("earns a token from the challenge, picks the host platform from the index, and stores the image", async () => {
    const registry = fakeRegistry(image);
    const puller = new RegistryPuller({ fetch: registry.fetch });
    const store = new ImageStore({ root: path.join(work, "store"), whiteoutWriter: noWhiteouts });
    const record = await puller.pull(store, "app:1");
    expect(record.repoTags).toEqual(["docker.io/library/app:1"]);
    expect(record.manifestDigest).toBe(image.manifest.digest);
    expect(record.config.config?.Cmd).toEqual(["cat", "/hello"]);
    expect(registry.requests[0]).toBe("/v2/library/app/manifests/1 -");
    expect(registry.requests[1]).toBe("/token?service=registry.example&scope=repository%3Alibrary%2Fapp%3Apull -");
    expect(registry.requests.slice(2).every((r) => r.endsWith(" Bearer good-token"))).toBe(true);
    expect(registry.requests.some((r) => r.includes("0000000000"))).toBe(false);
  });

  it("fails with ImageNotFoundError for a tag the registry does not have", async () => {
    const puller = new RegistryPuller({ fetch: fakeRegistry(image).fetch });
    const store = new ImageStore({ root: path.join(work, "store"), whiteoutWriter: noWhiteouts });
    await expect(puller.pull(store, "app:2")).rejects.toThrow(ImageNotFoundError);
  });

  it("refuses a blob whose bytes do not match its digest", async () => {
    const puller = new RegistryPuller({ fetch: fakeRegistry(image, { tamper: true }).fetch });
    const store = new ImageStore({ root: path.join(work, "store"), whiteoutWriter: noWhiteouts });
    await expect(puller.pull(store, "app:1")).rejects.toThrow(DigestMismatchError);
    expect(await store.list()).toEqual([]);
  });

  it("reports a refused token request as a RegistryError", async () => {
    const refusing = ((input: string | URL | Request) =>
      Promise.resolve(
        (input instanceof Request ? input.url : input.toString()).includes("auth.example.com")
          ? new Response("", { status: 403 })
          : new Response("", { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="https://auth.example.com/t"' } }),
      )) as typeof fetch;
    const store = new ImageStore({ root: path.join(work, "store"), whiteoutWriter: noWhiteouts });
    await expect(new RegistryPuller({ fetch: refusing }).pull(store, "app:1")).rejects.toThrow(RegistryError);
  });

  it.each([
    ["docker.io", "https://registry-1.docker.io"],
    ["registry.k8s.io", "https://registry.k8s.io"],
    ["127.0.0.1:5000", "http://127.0.0.1:5000"],
    ["localhost:5000", "http://localhost:5000"],
  ])("speaks to %s at %s", (registry, base) => {
    expect(new RegistryPuller().endpoint(registry)).toBe(base);
  });

  it("uses a configured mirror", () => {
    expect(new RegistryPuller({ mirrors: { "docker.io": "http://mirror.lab:5000/" } }).endpoint("docker.io")).toBe("http://mirror.lab:5000");
  });

  it("parses Docker Hub's challenge", () => {
    expect(
      parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'),
    ).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/nginx:pull" },
    });
  });
});
