import { describe, expect, it } from "vitest";
import { parseRequestInfo } from "./request-info.js";

describe("parseRequestInfo", () => {
  it.each([
    ["GET", "/api/v1/namespaces/ns/configmaps", "", "list", undefined],
    ["GET", "/api/v1/namespaces/ns/configmaps", "watch=true", "watch", undefined],
    ["GET", "/api/v1/watch/namespaces/ns/configmaps/c1", "", "watch", "c1"],
    ["GET", "/api/v1/watch/namespaces/ns", "", "watch", "ns"],
    // ?watch=true on an object's own URL is a get, as upstream's router serves it.
    ["GET", "/api/v1/namespaces/ns/configmaps/c1", "watch=true", "get", "c1"],
    ["PUT", "/api/v1/namespaces/ns/configmaps", "", "update", undefined],
    ["DELETE", "/api/v1/namespaces/ns/configmaps", "", "deletecollection", undefined],
  ])("%s %s?%s is a %s", (method, path, query, verb, name) => {
    const info = parseRequestInfo(method, path, new URLSearchParams(query));
    expect(info?.verb).toBe(verb);
    expect(info?.name).toBe(name);
  });
});
