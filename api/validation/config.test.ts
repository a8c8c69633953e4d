import { describe, expect, it } from "vitest";
import type { KubeObject } from "../meta.js";
import { newConfigMap } from "../testing/builders.js";
import type { ConfigMap } from "../types/index.js";
import { bytesDecodeError } from "./config.js";
import { problems, updateProblems } from "./testing.js";

describe("config maps and secrets", () => {
  it.each<[string, KubeObject, string]>([
    ["a bad config map key", newConfigMap("c", { data: { "a b": "x" } }), "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"],
    ["a key starting with '..'", newConfigMap("c", { data: { "..a": "x" } }), "data[..a]: Invalid value: \"..a\": must not start with '..'"],
    ["secret data that is not base64", { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "d" }, data: { a: "not base64!" } }, 'data[a]: Invalid value: "not base64!": illegal base64 data at input byte 3'],
    ["a TLS secret without a key", { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "d" }, type: "kubernetes.io/tls", data: { "tls.crt": "eA==" } }, "data[tls.key]: Required value"],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });

  it("freezes an immutable config map", () => {
    const prev: ConfigMap = { ...newConfigMap("c", { data: { a: "1" } }), immutable: true };
    const next: ConfigMap = { ...newConfigMap("c", { data: { a: "2" } }), immutable: true };
    expect(updateProblems(next, prev)).toEqual(["data: Forbidden: field is immutable when `immutable` is set"]);
  });
});

describe("bytesDecodeError", () => {
  it.each<[string, string, Record<string, unknown>, string | undefined]>([
    ["Secret data that is not base64", "Secret", { data: { ok: "eA==", k: "%%%" } }, "illegal base64 data at input byte 0"],
    ["base64 cut short", "Secret", { data: { k: "eA=" } }, "illegal base64 data at input byte 0"],
    ["ConfigMap binaryData that is not base64", "ConfigMap", { binaryData: { k: "ab!c" } }, "illegal base64 data at input byte 2"],
    ["valid Secret data", "Secret", { data: { k: "aGVsbG8=" } }, undefined],
    ["ConfigMap data (text, not bytes)", "ConfigMap", { data: { k: "%%%" } }, undefined],
    ["another kind", "Pod", { data: { k: "%%%" } }, undefined],
  ])("%s", (_what, kind, object, expected) => {
    expect(bytesDecodeError(kind, object)).toBe(expected);
  });
});
