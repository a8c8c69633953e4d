import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openApiDocumentPath, renderGoFields } from "../test/support/go-fields-schema.js";
import { goJsonString, goSortedJson, goTypedTemplate, sortMembers } from "./go-json.js";

describe("goJsonString", () => {
  it("escapes as Go's encoding/json: <, >, &, U+2028/9 and \\b, \\f as \\u00XX; an escaped backslash stays", () => {
    expect(goJsonString({ s: "a<b>&c\u2028\u2029" })).toBe('{"s":"a\\u003cb\\u003e\\u0026c\\u2028\\u2029"}');
    expect(goJsonString("\b\f\n\r\t\u0001\"")).toBe('"\\u0008\\u000c\\n\\r\\t\\u0001\\""');
    // A backslash followed by "b" is not a backspace.
    expect(goJsonString("\\b\\f")).toBe('"\\\\b\\\\f"');
    expect(goJsonString("\\\b")).toBe('"\\\\\\u0008"');
  });

  it("writes a lone surrogate as U+FFFD, as Go's strings cannot hold one, and keeps pairs", () => {
    expect(goJsonString("x\udc00y")).toBe('"x\ufffdy"');
    expect(goJsonString("😀")).toBe('"😀"');
  });

  it("keeps members in their order", () => {
    expect(goJsonString({ b: 1, a: [true, null] })).toBe('{"b":1,"a":[true,null]}');
  });
});

describe("goSortedJson and sortMembers", () => {
  it("sorts every object's members by their UTF-8 bytes, as Go writes a map", () => {
    expect(goSortedJson({ b: { z: 1, a: 2 }, $patch: "replace", A: [{ y: 1, x: 2 }] })).toBe('{"$patch":"replace","A":[{"x":2,"y":1}],"b":{"a":2,"z":1}}');
    // U+FF21 (3 UTF-8 bytes, EF BC A1) sorts before U+1F600 (F0 ...); UTF-16 code units would put the emoji first.
    expect(Object.keys(sortMembers({ "😀": 1, "Ａ": 2 }) as object)).toEqual(["Ａ", "😀"]);
    expect(sortMembers({ a: undefined, b: 1 })).toEqual({ b: 1 });
  });
});

describe("goTypedTemplate", () => {
  it("adds what Go's typed structs write unset: null creationTimestamp, {} resources, a \"0\" divisor, required names", () => {
    const typed = goTypedTemplate({
      metadata: { labels: { app: "x" } },
      spec: {
        containers: [{ name: "c", image: "i", env: [{ name: "E", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } }] }],
        affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1 }] } },
        resourceClaims: [{ name: "claim" }],
      },
    });
    expect(typed).toEqual({
      metadata: { labels: { app: "x" }, creationTimestamp: null },
      spec: {
        containers: [{ name: "c", image: "i", resources: {}, env: [{ name: "E", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "0" } } }] }],
        // A struct held by value (preference) is written with its own unset fields (none here).
        affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: {} }] } },
        resourceClaims: [{ name: "claim", source: {} }],
      },
    });
  });

  it("writes an empty template as Go's zero PodTemplateSpec, and a null member as unset", () => {
    expect(goTypedTemplate(undefined)).toEqual({ metadata: { creationTimestamp: null }, spec: { containers: null } });
    expect(goTypedTemplate({ metadata: { creationTimestamp: null, name: null }, spec: { containers: [{ name: "c", resources: null }] } })).toEqual({
      metadata: { creationTimestamp: null },
      spec: { containers: [{ name: "c", resources: {} }] },
    });
  });

  it("writes quantities in canonical form, as Go's resource.Quantity does, and leaves one that does not parse", () => {
    const typed = goTypedTemplate({
      spec: { containers: [{ name: "c", resources: { limits: { cpu: "1000m", memory: "1024Mi" }, requests: { cpu: 0.5 } } }], volumes: [{ name: "v", emptyDir: { sizeLimit: "bogus" } }] },
    });
    expect(typed.spec).toEqual({ containers: [{ name: "c", resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } } }], volumes: [{ name: "v", emptyDir: { sizeLimit: "bogus" } }] });
  });

  it("keeps present values, free-form maps and unknown members as they are", () => {
    const template = { metadata: { creationTimestamp: "2024-01-01T00:00:00Z", annotations: { name: "" } }, spec: { containers: [{ name: "c", resources: { limits: { cpu: "1" } } }], nodeSelector: { a: "b" } } };
    expect(goTypedTemplate(template)).toEqual(template);
  });
});

describe("go-fields.gen.ts", () => {
  const peers = process.env.KUBELAB_PEERS ?? "";
  const missing = peers === "" ? "KUBELAB_PEERS is not set" : existsSync(openApiDocumentPath(peers)) ? "" : `${openApiDocumentPath(peers)} is missing`;
  if (missing !== "") console.log(`SKIP: go-fields.gen.ts against Kubernetes' OpenAPI document: ${missing}`);

  it.skipIf(missing !== "")("is what Kubernetes v1.26.1's OpenAPI document gives (UPDATE_GO_FIELDS=1 rewrites it)", () => {
    const path = new URL("./go-fields.gen.ts", import.meta.url);
    const rendered = renderGoFields(peers);
    if (process.env.UPDATE_GO_FIELDS) writeFileSync(path, rendered);
    expect(readFileSync(path, "utf8")).toBe(rendered);
  });
});
