import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isStatusError } from "../../api/errors.js";
import {
  acceptsJson,
  applyFieldValidation,
  checkObjectMediaType,
  decodeBody,
  decodeBodyFields,
  duplicateFields,
  duplicateJsonFields,
  goValueString,
  parseAccept,
  parseFieldValidation,
  parseMediaType,
  patchTypeOf,
  partialMetadataVersion,
  servesAccept,
  tableVersion,
  toYamlText,
  wantsTable,
  wantsYaml,
  warningHeaderValue,
} from "./negotiate.js";
import { seededRandom } from "../../test/support/random.js";

/** kubectl get's Accept header, asking for a Table. */
const TBL = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

function statusOf(fn: () => unknown): { code: number; reason: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isStatusError(err)) return { code: err.code, reason: err.reason, message: err.message };
    throw err;
  }
  throw new Error("expected a StatusError");
}

describe("parseMediaType", () => {
  it("splits type, subtype and parameters in any order", () => {
    expect(parseMediaType("application/json;as=Table;v=v1;g=meta.k8s.io")).toEqual({
      type: "application",
      subtype: "json",
      params: { as: "Table", v: "v1", g: "meta.k8s.io" },
      q: 1,
    });
    expect(parseMediaType(" Application/JSON ; charset=\"utf-8\" ; q=0.3")).toEqual({ type: "application", subtype: "json", params: { charset: "utf-8" }, q: 0.3 });
  });

  it("rejects values without a type/subtype", () => {
    expect(parseMediaType("json")).toBeUndefined();
    expect(parseMediaType("application/")).toBeUndefined();
    expect(parseMediaType("")).toBeUndefined();
  });

  it("answers a header it has seen with the same frozen answer, short or long, valid or not", () => {
    const long = `application/json;x=${"a".repeat(300)}`;
    for (const header of ["application/json; charset=utf-8", long]) {
      const first = parseMediaType(header);
      expect(parseMediaType(header)).toEqual(first);
      expect(first?.params).toEqual({ [header === long ? "x" : "charset"]: header === long ? "a".repeat(300) : "utf-8" });
    }
    const memoized = parseMediaType("application/json; charset=utf-8");
    expect(parseMediaType("application/json; charset=utf-8")).toBe(memoized);
    expect(Object.isFrozen(memoized)).toBe(true);
    expect(Object.isFrozen(memoized?.params)).toBe(true);
    expect(parseMediaType("not-a-type")).toBeUndefined();
    expect(parseMediaType("not-a-type")).toBeUndefined();
  });
});

describe("parseAccept", () => {
  it("orders offers by q, keeping the client's order among equals, and drops q=0", () => {
    const offers = parseAccept("text/plain;q=0.5, application/yaml, application/json;q=0, */*;q=0.1");
    expect(offers.map((o) => `${o.type}/${o.subtype}`)).toEqual(["application/yaml", "text/plain", "*/*"]);
  });

  it("treats a missing header as */*", () => {
    expect(parseAccept(undefined)).toEqual([{ type: "*", subtype: "*", params: {}, q: 1 }]);
  });
});

describe("tableVersion and wantsTable", () => {
  it.each([
    [TBL, "meta.k8s.io/v1"],
    ["application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "meta.k8s.io/v1beta1"],
    ["application/json;g=meta.k8s.io;v=v1;as=Table", "meta.k8s.io/v1"],
    ["application/json;as=Table;v=v2;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io", "meta.k8s.io/v1beta1"],
    ["application/json", undefined],
    ["application/json,application/json;as=Table;v=v1;g=meta.k8s.io", undefined],
    ["application/vnd.kubernetes.protobuf,application/json", undefined],
    ["application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", undefined],
    [undefined, undefined],
  ])("Accept %j → %s", (accept, expected) => {
    expect(tableVersion(accept)).toBe(expected);
    expect(wantsTable(accept)).toBe(expected !== undefined);
  });
});

describe("partialMetadataVersion", () => {
  it.each([
    // What client-go's metadata informers (garbage collector, quota) send.
    ["application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json", "meta.k8s.io/v1"],
    ["application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", "meta.k8s.io/v1"],
    ["application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1", "meta.k8s.io/v1beta1"],
    ["application/json;as=PartialObjectMetadata;g=other.io;v=v1,application/json", undefined],
    ["application/json,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", undefined],
    [TBL, undefined],
    [undefined, undefined],
  ])("Accept %j → %s", (accept, expected) => {
    expect(partialMetadataVersion(accept)).toBe(expected);
  });
});

describe("servesAccept", () => {
  it.each([
    [undefined, true],
    ["application/json", true],
    ["application/yaml", true],
    ["application/vnd.kubernetes.protobuf;stream=watch", true],
    ["text/html,application/xhtml+xml,*/*;q=0.8", true],
    [TBL, true],
    ["application/bogus", false],
    ["text/html", false],
    ["application/json;q=0", false],
  ])("Accept %j → %s", (accept, expected) => {
    expect(servesAccept(accept)).toBe(expected);
  });
});

describe("acceptsJson", () => {
  it.each([
    ["application/vnd.kubernetes.protobuf,application/json", true],
    ["application/json, */*", true],
    ["application/*", true],
    [undefined, true],
    ["application/vnd.kubernetes.protobuf", false],
    ["application/json;as=Table;v=v1;g=meta.k8s.io", false],
    ["text/html", false],
  ])("Accept %j → %s", (accept, expected) => {
    expect(acceptsJson(accept)).toBe(expected);
  });
});

describe("decodeBody", () => {
  const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

  it("decodes JSON, and treats a missing Content-Type as JSON", () => {
    expect(decodeBody("application/json", json({ kind: "Pod", metadata: { name: "p" } }))).toEqual({ kind: "Pod", metadata: { name: "p" } });
    expect(decodeBody("application/json; charset=utf-8", json({ a: 1 }))).toEqual({ a: 1 });
    expect(decodeBody(undefined, json({ a: 1 }))).toEqual({ a: 1 });
  });

  it("answers 400 for malformed JSON, an empty body and a non-object", () => {
    const bad = statusOf(() => decodeBody("application/json", Buffer.from('{"kind": ')));
    expect(bad.code).toBe(400);
    expect(bad.reason).toBe("BadRequest");
    expect(bad.message).toMatch(/^couldn't get version\/kind; json parse error: /);
    expect(statusOf(() => decodeBody("application/json", Buffer.alloc(0))).code).toBe(400);
    expect(statusOf(() => decodeBody("application/json", json([1, 2]))).code).toBe(400);
  });

  it("decodes single-document YAML and refuses several documents and malformed YAML", () => {
    const yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n";
    expect(decodeBody("application/yaml", Buffer.from(yaml))).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "1" } });
    expect(decodeBody("application/yaml", Buffer.from(`---\n${yaml}`))).toEqual(expect.objectContaining({ kind: "ConfigMap" }));
    expect(statusOf(() => decodeBody("application/yaml", Buffer.from(`${yaml}---\n${yaml}`))).message).toContain("more than one YAML document");
    expect(statusOf(() => decodeBody("application/yaml", Buffer.from("a: [1, 2\nb: {"))).code).toBe(400);
    expect(statusOf(() => decodeBody("application/yaml", Buffer.from("just a string"))).code).toBe(400);
  });

  it("decodes kubectl's protobuf bodies", () => {
    const body = readFileSync(new URL("./testdata/create-namespace.pb", import.meta.url));
    expect(decodeBody("application/vnd.kubernetes.protobuf", body)).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: "demo" } });
  });

  it("passes patch bodies through as JSON, a json-patch being an array", () => {
    const ops = [{ op: "replace", path: "/spec/replicas", value: 3 }];
    expect(decodeBody("application/json-patch+json", json(ops))).toEqual(ops);
    expect(decodeBody("application/merge-patch+json", json({ metadata: { labels: { a: null } } }))).toEqual({ metadata: { labels: { a: null } } });
    expect(decodeBody("application/strategic-merge-patch+json", json({ spec: { $setElementOrder: [] } }))).toEqual({ spec: { $setElementOrder: [] } });
  });

  it("accepts JSON or YAML for server-side apply", () => {
    expect(decodeBody("application/apply-patch+yaml", json({ kind: "ConfigMap", data: { a: "1" } }))).toEqual({ kind: "ConfigMap", data: { a: "1" } });
    expect(decodeBody("application/apply-patch+yaml", Buffer.from("kind: ConfigMap\ndata:\n  a: '1'\n"))).toEqual({ kind: "ConfigMap", data: { a: "1" } });
  });

  it("answers 415 for other media types", () => {
    const err = statusOf(() => decodeBody("text/plain", Buffer.from("hi")));
    expect(err.code).toBe(415);
    expect(err.reason).toBe("UnsupportedMediaType");
    expect(statusOf(() => decodeBody("application/cbor", Buffer.from([0xa0]))).code).toBe(415);
    expect(statusOf(() => decodeBody("nonsense", Buffer.from("{}"))).code).toBe(415);
  });
});

describe("patchTypeOf", () => {
  it.each([
    ["application/json-patch+json", "json"],
    ["application/merge-patch+json", "merge"],
    ["application/strategic-merge-patch+json; charset=utf-8", "strategic"],
    ["application/apply-patch+yaml", "apply"],
    ["application/json", undefined],
    [undefined, undefined],
  ])("%j → %s", (contentType, expected) => {
    expect(patchTypeOf(contentType)).toBe(expected);
  });
});

describe("duplicateJsonFields", () => {
  it("reports keys repeated in the same object by their full path", () => {
    const raw = '{"metadata":{"name":"a","name":"b"},"spec":{"containers":[{"name":"c","image":"x","image":"y"}]},"kind":"Pod"}';
    expect(duplicateJsonFields(raw)).toEqual(["metadata.name", "spec.containers[0].image"]);
  });

  it("compares decoded keys and ignores the same key in different objects", () => {
    expect(duplicateJsonFields('{"a":1,"\\u0061":2}')).toEqual(["a"]);
    expect(duplicateJsonFields('{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}')).toEqual([]);
    expect(duplicateJsonFields('{"s":"a,\\"}{b","t":[1,true,null,"]"]}')).toEqual([]);
  });

  it("reports duplicate top-level keys", () => {
    expect(duplicateJsonFields('{ "kind" : "Pod" , "kind" : "Pod" }')).toEqual(["kind"]);
  });
});

describe("duplicateFields", () => {
  it("finds duplicates in YAML bodies", () => {
    expect(duplicateFields("application/yaml", Buffer.from("kind: Pod\nmetadata:\n  name: a\n  name: b\n"))).toEqual(["metadata.name"]);
    expect(duplicateFields("application/apply-patch+yaml", Buffer.from('{"spec":{"replicas":1,"replicas":2}}'))).toEqual(["spec.replicas"]);
  });

  it("finds duplicates in JSON bodies and none in protobuf", () => {
    expect(duplicateFields("application/json", Buffer.from('{"a":1,"a":2}'))).toEqual(["a"]);
    expect(duplicateFields(undefined, Buffer.from('{"a":1,"a":2}'))).toEqual(["a"]);
    expect(duplicateFields("application/vnd.kubernetes.protobuf", Buffer.from("k8s\0"))).toEqual([]);
  });
});


// Key and string tokens as they appear in JSON text: plain, escaped spellings of the same key ("a" and "\u0061";
// ":" and "\u003a"), colons, quotes, backslashes, non-ASCII, the empty key and __proto__.
const KEY_TOKENS = ['"a"', '"\\u0061"', '"b"', '":"', '"\\u003a"', '"\\u003A"', '"a:b"', '""', '"__proto__"', '"é"', '"\\u00e9"', '"\\"q\\""', '"\\\\"', '"k8s.io/x"', '"\\ud83d\\ude00"'];
const STRING_TOKENS = ['"x"', '"x:y"', '"::"', '"\\u003a"', '"\\\\u003a"', '"http://h:1/p"', '"say \\"hi\\": ok"', '"\\\\"', '""', '"é:é"', '"}{]["'];
const SPACES = ["", "", " ", "\n\t", "\r\n  "];

/** JSON text of an object or array up to `depth` levels, whose objects often repeat a key in some spelling. */
function jsonText(next: () => number, depth: number, asObject = false): string {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const sp = (): string => pick(SPACES);
  const value = (d: number): string => {
    const roll = next();
    if (d > 0 && roll < 0.3) return jsonText(next, d - 1);
    if (roll < 0.6) return pick(STRING_TOKENS);
    return pick(["1", "-2.5e3", "0", "true", "false", "null"]);
  };
  if (asObject || next() < 0.7) {
    const count = Math.floor(next() * 6);
    // Half the objects draw keys from a few (repeats likely), half from all of them.
    const keys = next() < 0.5 ? KEY_TOKENS.slice(0, 3) : KEY_TOKENS;
    const members = Array.from({ length: count }, () => `${sp()}${pick(keys)}${sp()}:${sp()}${value(depth)}${sp()}`);
    return `{${members.join(",")}${count === 0 ? sp() : ""}}`;
  }
  const count = Math.floor(next() * 4);
  return `[${Array.from({ length: count }, () => `${sp()}${value(depth)}${sp()}`).join(",")}]`;
}

describe("decodeBodyFields", () => {
  const JSON_TYPES = ["application/json", "application/merge-patch+json", "application/strategic-merge-patch+json", undefined];

  it("finds the same duplicate fields as the full scanner on thousands of generated bodies", () => {
    const next = seededRandom(13);
    let withDuplicates = 0;
    for (let i = 0; i < 3000; i++) {
      const text = jsonText(next, 4, true);
      const raw = Buffer.from(text);
      const expected = duplicateJsonFields(text);
      if (expected.length > 0) withDuplicates++;
      for (const type of JSON_TYPES) {
        const decoded = decodeBodyFields(type, raw);
        expect(decoded.duplicate, text).toEqual(expected);
        expect(decoded.value).toEqual(JSON.parse(text));
        expect(duplicateFields(type, raw)).toEqual(expected);
      }
    }
    // Both answers are exercised, not only the easy one.
    expect(withDuplicates).toBeGreaterThan(500);
    expect(withDuplicates).toBeLessThan(2500);
  });

  it.each<[string, string[]]>([
    ['{"a":1,"\\u0061":2}', ["a"]],
    ['{"\\u003a":1,":":2}', [":"]],
    ['{"\\u003A":{"x":"\\u003a"},"y":":"}', []],
    ['{"a":"\\u003a","a":1}', ["a"]],
    ['{"a":"\\\\u003a","b":1}', []],
    ['{"x":"a:b:c","y":"::","x":"q"}', ["x"]],
    ['{"a":{"b":1,"b":2},"c":[{"d":1,"d":{"e":1,"e":2}}]}', ["a.b", "c[0].d", "c[0].d.e"]],
    ['{"é":1,"\\u00e9":2}', ["é"]],
    ['{"":1,"":{"":2,"":3}}', ["", ""]],
    ['{"__proto__":1,"__proto__":2,"constructor":3}', ["__proto__"]],
    ['{"s":"a,\\"}{b:","t":[1,true,null,"]:"]}', []],
    ['{ "kind" : "Pod" , "kind" : "Pod" }', ["kind"]],
    ["{}", []],
  ])("answers %s with %j", (text, expected) => {
    expect(decodeBodyFields("application/json", Buffer.from(text)).duplicate).toEqual(expected);
    expect(duplicateJsonFields(text)).toEqual(expected);
  });

  it("compares keys as decoded from the bytes, invalid UTF-8 included", () => {
    // "a\xff" and "a\xfe" both decode to "a\ufffd": one key twice, as JSON.parse and Go's decoder see it.
    const raw = Buffer.concat([Buffer.from('{"a'), Buffer.from([0xff]), Buffer.from('":1,"a'), Buffer.from([0xfe]), Buffer.from('":2,"b":"'), Buffer.from([0xc3]), Buffer.from(':"}')]);
    expect(decodeBodyFields("application/json", raw).duplicate).toEqual(duplicateFields("application/json", raw));
    expect(decodeBodyFields("application/json", raw).duplicate).toEqual(["a\ufffd"]);
  });

  it("handles bodies near the size limit, with and without a duplicate", () => {
    const members = Array.from({ length: 60_000 }, (_, i) => `"k${i}":{"v":"${i}:${i}","w":[{"x":1},{"x":2}]}`);
    const text = `{${members.join(",")}}`;
    expect(text.length).toBeGreaterThan(2_500_000);
    expect(decodeBodyFields("application/json", Buffer.from(text)).duplicate).toEqual([]);
    const repeated = `{${members.join(",")},"k59999":1}`;
    expect(decodeBodyFields("application/json", Buffer.from(repeated)).duplicate).toEqual(["k59999"]);
  });

  it("answers [] for protobuf and undefined for YAML, whose duplicates duplicateFields finds", () => {
    const yamlBody = Buffer.from("kind: Pod\nmetadata:\n  name: a\n  name: b\n");
    expect(decodeBodyFields("application/yaml", yamlBody).duplicate).toBeUndefined();
    expect(decodeBodyFields("application/apply-patch+yaml", Buffer.from('{"a":1,"a":2}')).duplicate).toBeUndefined();
  });

  it("refuses bodies nested past the limit exactly where decodeBody always has", () => {
    const nested = (levels: number): Buffer => Buffer.from(`${"[".repeat(levels)}1${"]".repeat(levels)}`);
    const inObject = (levels: number): Buffer => Buffer.from(`{"a":${"[".repeat(levels)}${"]".repeat(levels)}}`);
    expect(decodeBodyFields("application/merge-patch+json", nested(1000)).duplicate).toEqual([]);
    expect(statusOf(() => decodeBodyFields("application/merge-patch+json", nested(1001)))).toMatchObject({ code: 400, message: "the request body is nested too deeply" });
    expect(decodeBodyFields("application/json", inObject(1000)).duplicate).toEqual([]);
    expect(statusOf(() => decodeBodyFields("application/json", inObject(1001)))).toMatchObject({ code: 400, message: "the request body is nested too deeply" });
  });
});

describe("fieldValidation", () => {
  it("parses the query parameter, defaulting to Warn", () => {
    expect(parseFieldValidation(null)).toBe("Warn");
    expect(parseFieldValidation(undefined)).toBe("Warn");
    expect(parseFieldValidation("Strict")).toBe("Strict");
    expect(parseFieldValidation("Ignore")).toBe("Ignore");
    expect(statusOf(() => parseFieldValidation("strict")).code).toBe(400);
  });

  it("rejects under Strict with Kubernetes' strict decoding message", () => {
    const err = statusOf(() => applyFieldValidation("Strict", { unknown: ["spec.foo"], duplicate: ["metadata.name"] }, "Deployment", "v1"));
    expect(err.code).toBe(400);
    expect(err.reason).toBe("BadRequest");
    expect(err.message).toBe('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo", duplicate field "metadata.name"');
  });

  it("returns Warning header values under Warn and nothing under Ignore or without problems", () => {
    expect(applyFieldValidation("Warn", { unknown: ["spec.foo"], duplicate: [] }, "Deployment", "v1")).toEqual(['299 - "unknown field \\"spec.foo\\""']);
    expect(applyFieldValidation("Ignore", { unknown: ["spec.foo"], duplicate: [] }, "Deployment", "v1")).toEqual([]);
    expect(applyFieldValidation("Strict", { unknown: [], duplicate: [] }, "Deployment", "v1")).toEqual([]);
  });

  it("makes warning text safe for a header", () => {
    expect(warningHeaderValue('a\\b "c"\nd é')).toBe('299 - "a\\\\b \\"c\\"?d ?"');
  });
});

describe("hostile nesting", () => {
  it("answers 400 rather than overflowing the stack", () => {
    const raw = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    expect(statusOf(() => duplicateJsonFields(raw)).code).toBe(400);
    const deepObject = `${'{"a":'.repeat(3000)}1${"}".repeat(3000)}`;
    expect(statusOf(() => duplicateFields("application/json", Buffer.from(deepObject))).code).toBe(400);
  });
});

describe("hostile bodies found by fuzzing", () => {
  it("refuses decoded bodies nested past the limit, patches included", () => {
    const deep = `{"a":${"[".repeat(100_000)}1${"]".repeat(100_000)}}`;
    for (const type of ["application/json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json"]) {
      expect(statusOf(() => decodeBody(type, Buffer.from(deep)))).toMatchObject({ code: 400, message: "the request body is nested too deeply" });
    }
    const shallow = `{"a":${"[".repeat(100)}1${"]".repeat(100)}}`;
    expect(decodeBody("application/merge-patch+json", Buffer.from(shallow))).toHaveProperty("a");
  });

  it.each([
    ["deep flow collections", `${"[".repeat(100_000)}1${"]".repeat(100_000)}`],
    ["deep flow collections inside JSON", `{"a": ${"[".repeat(100_000)}1${"]".repeat(100_000)}}`],
    ["deep compact sequences", `${"- ".repeat(100_000)}x\n`],
    ["deep indentation", `${Array.from({ length: 2_000 }, (_, i) => `${" ".repeat(i)}a:`).join("\n")} 1\n`],
    ["deep complex keys", `${"? ".repeat(2_000)}x\n`],
  ])("refuses YAML with %s before the parser's recursion can abort the process", (_name, text) => {
    for (const type of ["application/yaml", "application/apply-patch+yaml"]) {
      expect(statusOf(() => decodeBody(type, Buffer.from(text)))).toMatchObject({ code: 400, message: "error converting YAML to JSON: the document is nested too deeply" });
    }
  });

  it("refuses collection and alias keys, whose conversion to JSON takes exponential time", () => {
    for (const text of ["? [a, b]\n: c\n", `${"? ".repeat(12)}x\n`, "a: &x b\n*x : c\n"]) {
      expect(statusOf(() => decodeBody("application/yaml", Buffer.from(text)))).toMatchObject({ code: 400, message: "error converting YAML to JSON: yaml: map keys must be scalars" });
    }
  });

  it("still decodes ordinary YAML, brackets and dashes in scalars included", () => {
    const text = [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: {name: x, labels: {a: b}}",
      "data:",
      "  script: |",
      `    if [ -f x ]; then echo '${"[".repeat(300)}'; fi`,
      `    ${"- ".repeat(300)}`,
      `  quoted: "${"{".repeat(300)}"`,
      `  plain: a${"[".repeat(300)}`,
      "  merged: {<<: {k: v}}",
    ].join("\n");
    expect(decodeBody("application/yaml", Buffer.from(text))).toMatchObject({ kind: "ConfigMap", data: { plain: `a${"[".repeat(300)}`, merged: { k: "v" } } });
  });

  it("keeps Warning headers within Kubernetes' 4 KiB, however many fields are unknown", () => {
    const unknown = Array.from({ length: 50_000 }, (_, i) => `k${i}`);
    const warnings = applyFieldValidation("Warn", { unknown, duplicate: [] }, "Pod", "v1");
    expect(warnings.length).toBeGreaterThan(100);
    expect(warnings.join("").length).toBeLessThan(8 * 1024);
    expect(warnings[0]).toBe('299 - "unknown field \\"k0\\""');
    expect(applyFieldValidation("Warn", { unknown: ["spec.a", "spec.a"], duplicate: [] }, "Pod", "v1")).toEqual(['299 - "unknown field \\"spec.a\\""']);
  });
});

describe("checkObjectMediaType", () => {
  it.each([undefined, "", "application/json", "application/json; charset=utf-8", "application/yaml", "application/vnd.kubernetes.protobuf"])("accepts %j", (type) => {
    expect(() => {
      checkObjectMediaType(type);
    }).not.toThrow();
  });

  it.each(["text/plain", "application/merge-patch+json", "not a type"])("answers %j with a 415 without details", (type) => {
    let caught: unknown;
    try {
      checkObjectMediaType(type);
    } catch (err) {
      caught = err;
    }
    expect(isStatusError(caught) && caught.toStatus()).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason: "UnsupportedMediaType", code: 415, message: expect.stringContaining("accepted media types include") as unknown });
  });
});

describe("wantsYaml and toYamlText", () => {
  it.each<[string | undefined, boolean]>([
    ["application/yaml", true],
    ["application/yaml, application/json", true],
    ["application/json;q=0.5, application/yaml", true],
    ["application/json, application/yaml", false],
    ["application/vnd.kubernetes.protobuf, application/yaml", false],
    ["application/yaml;as=Table;v=v1;g=meta.k8s.io, application/json", false],
    ["*/*", false],
    [undefined, false],
  ])("Accept %j → %j", (accept, yaml) => {
    expect(wantsYaml(accept)).toBe(yaml);
  });

  it("writes sorted keys, unindented sequences and quotes what YAML 1.1 would read as another type", () => {
    const text = toYamlText({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "c", creationTimestamp: "2024-01-01T00:00:00Z", finalizers: ["a"] }, data: { a: "1", b: "yes" } });
    expect(text).toBe(['apiVersion: v1', "data:", '  a: "1"', '  b: "yes"', "kind: ConfigMap", "metadata:", '  creationTimestamp: "2024-01-01T00:00:00Z"', "  finalizers:", "  - a", "  name: c", ""].join("\n"));
  });

  it("writes an object reached twice out twice, with no anchor or alias", () => {
    const version = { groupVersion: "apps/v1", version: "v1" };
    const text = toYamlText({ name: "apps", versions: [version], preferredVersion: version });
    expect(text).not.toMatch(/[&*]a1/);
    expect(text).toBe(["name: apps", "preferredVersion:", "  groupVersion: apps/v1", "  version: v1", "versions:", "- groupVersion: apps/v1", "  version: v1", ""].join("\n"));
  });
});

describe("goValueString", () => {
  it("prints a decoded patch as Go's %v prints its map: keys sorted, <nil>, float64 numbers", () => {
    const patch = { spec: { bogus: 1, replicas: 2, template: { spec: { containers: [{ name: "c", zz: true, image: "x" }] } } }, metadata: { labels: { q: "r" } }, f: 1.5, n: null, s: "a b" };
    expect(goValueString(patch)).toBe("map[f:1.5 metadata:map[labels:map[q:r]] n:<nil> s:a b spec:map[bogus:1 replicas:2 template:map[spec:map[containers:[map[image:x name:c zz:true]]]]]]");
  });

  it.each([
    [123456, "123456"],
    [1000000, "1e+06"],
    [1234567, "1.234567e+06"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [-2.5, "-2.5"],
    [0, "0"],
  ])("prints %d as %s", (n, text) => {
    expect(goValueString(n)).toBe(text);
  });
});
