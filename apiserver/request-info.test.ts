import { describe, expect, it } from "vitest";
import { parseRequestInfo, requestTarget } from "./request-info.js";

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

describe("requestTarget", () => {
  /** What requestTarget must agree with: the WHATWG URL parser. */
  function byUrl(target: string): { pathname: string; query: [string, string][] } | "throws" {
    try {
      const url = new URL(target, "http://apiserver");
      return { pathname: url.pathname, query: [...url.searchParams] };
    } catch {
      return "throws";
    }
  }

  function byRequestTarget(target: string): { pathname: string; query: [string, string][] } | "throws" {
    try {
      const got = requestTarget(target);
      return { pathname: got.pathname, query: [...got.searchParams] };
    } catch {
      return "throws";
    }
  }

  it.each([
    "/api/v1/namespaces/default/pods",
    "/api/v1/namespaces/default/pods?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
    "/apis/apps/v1/watch/deployments?resourceVersion=12&allowWatchBookmarks=true&timeoutSeconds=300",
    "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb%2Ctier+in+(a,b)&limit=500",
    "/api/v1/namespaces/default/pods/a%2Fb",
    "/api/v1/namespaces/./default/../pods",
    "/api/v1/namespaces/%2e%2e/pods",
    "//evil/api/v1/pods",
    "/api/v1/pods?a=b c&d=\"e\"#frag",
    "/api/v1/pods\\x",
    "/api/v1/pods?x=é&y=%zz",
    "/api/v1/pods?",
    "/api/v1/pods??a=1",
    "/",
  ])("reads %s as URL parsing does", (target) => {
    expect(byRequestTarget(target)).toEqual(byUrl(target));
  });

  it("reads generated targets as URL parsing does", () => {
    const alphabet = ["a", "z", "0", "-", ".", "..", "_", "~", "/", "//", "%", "%2F", "%2e", "?", "&", "=", "+", "#", " ", "\\", "'", '"', "<", "é", ":", "@", ";", "\t"];
    let state = 5;
    const next = (): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    for (let i = 0; i < 5000; i++) {
      const length = Math.floor(next() * 12);
      const target = `/${Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]!).join("")}`;
      expect(byRequestTarget(target), target).toEqual(byUrl(target));
    }
  });
});
