import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { productionPackages, sharedLibraries } from "./program-image.js";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("program images", () => {
  it("finds the shared libraries Node loads, the dynamic loader included", async () => {
    const libraries = await sharedLibraries(process.execPath);
    expect(libraries.some((l) => l.endsWith("/libc.so.6"))).toBe(true);
    expect(libraries.some((l) => /\/ld-linux[^/]*\.so\.\d+$/.test(l))).toBe(true);
    expect(libraries.every((l) => l.startsWith("/"))).toBe(true);
  });

  it("ships the production dependencies and what they need, not the dev tools", async () => {
    const packages = await productionPackages(REPO_ROOT);
    expect(packages).toEqual(expect.arrayContaining(["node_modules/dns-packet", "node_modules/@leichtgewicht/ip-codec", "node_modules/ws", "node_modules/prom-client", "node_modules/yaml"]));
    expect(packages).not.toContain("node_modules/vitest");
    expect(packages).not.toContain("node_modules/typescript");
  });
});
