import { describe, expect, it } from "vitest";
import { familiarReference, InvalidReferenceError, normalizeReference, parseImageReference } from "./image-reference.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("normalizeReference", () => {
  it.each([
    ["nginx", "docker.io/library/nginx:latest"],
    ["nginx:alpine", "docker.io/library/nginx:alpine"],
    ["library/nginx", "docker.io/library/nginx:latest"],
    ["docker.io/nginx", "docker.io/library/nginx:latest"],
    ["index.docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27"],
    ["jocatalin/kubernetes-bootcamp:v1", "docker.io/jocatalin/kubernetes-bootcamp:v1"],
    ["spring2go/spring-petclinic:1.0.0.RELEASE", "docker.io/spring2go/spring-petclinic:1.0.0.RELEASE"],
    ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"],
    ["registry.k8s.io/e2e-test-images/agnhost:2.53", "registry.k8s.io/e2e-test-images/agnhost:2.53"],
    ["localhost/app", "localhost/app:latest"],
    ["127.0.0.1:5000/team/app:v3", "127.0.0.1:5000/team/app:v3"],
    [`busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`],
    [`nginx:1.27@${DIGEST}`, `docker.io/library/nginx:1.27@${DIGEST}`],
  ])("normalizes %s to %s", (input, expected) => {
    expect(normalizeReference(input)).toBe(expected);
  });

  it.each([[""], ["Nginx"], ["nginx:"], ["nginx@sha256:123"], ["a//b"], ["nginx:bad tag"], ["-x/y"]])(
    "refuses %j",
    (input) => {
      expect(() => normalizeReference(input)).toThrow(InvalidReferenceError);
    },
  );

  it("keeps a digest-only reference without a tag", () => {
    expect(parseImageReference(`registry.k8s.io/pause@${DIGEST}`)).toEqual({
      registry: "registry.k8s.io",
      repository: "pause",
      digest: DIGEST,
    });
  });

  it.each([
    ["nginx", "nginx:latest"],
    ["jocatalin/kubernetes-bootcamp:v1", "jocatalin/kubernetes-bootcamp:v1"],
    ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"],
  ])("gives %s the familiar form %s", (input, expected) => {
    expect(familiarReference(parseImageReference(input))).toBe(expected);
  });
});
