import { describe, expect, it } from "vitest";
import { DEFAULT_MISSING_IMAGES, MissingImages, MissingImagesError } from "./missing-images.js";

describe("MissingImages", () => {
  const registry = new MissingImages(DEFAULT_MISSING_IMAGES);

  it.each([
    ["webserver:404", "the e2e Deployment proportional-scaling update"],
    ["gcr.io/google_samples/gb-redisslave:nonexistent", "the e2e Deployment rollover"],
    ["invalid.registry.k8s.io/invalid/alpine:3.1", "the e2e InvalidRegistryImage"],
    ["example.invalid/nothing:here", "a registry in the reserved .invalid domain"],
    ["nginx:does-not-exist", "a tag that says so"],
    ["nginx:DoesNotExist", "case does not matter"],
    ["nonexistent-image", "a name that says so, tagged latest"],
    ["docker.io/library/nginx:non-existent", "the normalized form written out"],
  ])("lacks %s (%s)", (image) => {
    expect(registry.isMissing(image)).toBe(true);
  });

  it.each([
    "nginx",
    "nginx:1.25",
    "registry.k8s.io/e2e-test-images/httpd:2.4.38-2",
    "registry.k8s.io/e2e-test-images/agnhost:2.43",
    "registry.k8s.io/pause:3.9",
    "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    "myregistry:5000/app:4040",
    "invalid-images/app:1", // Docker Hub's invalid-images/app, not a host named invalid.*
  ])("has %s", (image) => {
    expect(registry.isMissing(image)).toBe(false);
  });

  it("matches a pattern against the reference as written and normalized", () => {
    const own = MissingImages.parse(" myorg/* , docker.io/library/redis:7 ");
    expect(own.patterns).toEqual(["myorg/*", "docker.io/library/redis:7"]);
    expect(own.isMissing("myorg/app:v2")).toBe(true);
    expect(own.isMissing("docker.io/myorg/app:v2")).toBe(false); // "myorg/*" is not anchored after the host
    expect(own.isMissing("redis:7")).toBe(true);
    expect(own.isMissing("redis:7.2")).toBe(false);
    expect(own.isMissing("webserver:404")).toBe(false);
    // Asked again (answered from memory): the same answers.
    expect(["myorg/app:v2", "docker.io/myorg/app:v2", "redis:7", "redis:7.2"].map((i) => own.isMissing(i))).toEqual([true, false, true, false]);
  });

  it("lacks nothing when given no patterns", () => {
    const none = MissingImages.parse("");
    expect(none.patterns).toEqual([]);
    expect(none.isMissing("webserver:404")).toBe(false);
    expect(none.pullError("webserver:404")).toBeUndefined();
  });

  it.each([["a,,b"], ["nginx:1 2"], ['"quoted"']])("rejects %j", (text) => {
    expect(() => MissingImages.parse(text)).toThrow(MissingImagesError);
  });

  it("fails a pull NotFound naming the normalized reference, as containerd does", () => {
    expect(registry.pullError("nginx:1.25")).toBeUndefined();
    const err = registry.pullError("webserver:404");
    expect(err?.codeName).toBe("NOT_FOUND");
    expect(err?.message).toBe('failed to pull and unpack image "docker.io/library/webserver:404": failed to resolve reference "docker.io/library/webserver:404": docker.io/library/webserver:404: not found');
  });
});
