import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StatusError } from "./errors.js";
import {
  dns1123LabelError,
  dns1123SubdomainError,
  formatLabels,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEmptySelector,
  isIANASvcName,
  parseLabelSelector,
  selectorFromLabelSelector,
  selectorFromSet,
  validateLabelKey,
  validateLabelValue,
} from "./labels.js";
import type { LabelSelector } from "./meta.js";

const NAME_PART_ERROR =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_ERROR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error("expected a StatusError");
}

describe("parseLabelSelector", () => {
  it.each([
    ["", ""],
    ["a=b", "a=b"],
    ["a==b", "a==b"],
    ["a!=b", "a!=b"],
    ["a in (y,x)", "a in (x,y)"],
    ["a notin (x)", "a notin (x)"],
    ["a", "a"],
    ["!a", "!a"],
    ["a=", "a="],
    ["a in ()", "a in ()"],
    ["a in (b,b)", "a in (b)"],
    ["x>1", "x>1"],
    ["x<10", "x<10"],
    ["example.com/app=web", "example.com/app=web"],
    [" tier in ( b , a ) , app = x ", "app=x,tier in (a,b)"],
    ["z,!y,x=1", "x=1,!y,z"],
    ["in=notin", "in=notin"],
    ["!in", "!in"],
  ])("reads %j in the canonical form %j", (text, canonical) => {
    expect(parseLabelSelector(text).toString()).toBe(canonical);
  });

  it.each([
    ["a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ["a in b", "unable to parse requirement: found 'b' expected: '('"],
    ["a in (b", "unable to parse requirement: found '', expected: ',' or ')'"],
    ["a in =", "unable to parse requirement: found '=' expected: '('"],
    ["a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ["a=b=c", "found '=', expected: ',' or 'end of string'"],
    ["a=b,", "found '', expected: identifier after ','"],
    [",a", "found ',', expected: !, identifier, or 'end of string'"],
    ["!=a", "found '!=', expected: !, identifier, or 'end of string'"],
    ["!a=b", "found '=', expected: ',' or 'end of string'"],
    ["a@b=c", `unable to parse requirement: key: Invalid value: "a@b": ${NAME_PART_ERROR}`],
    ["a=b@c", `unable to parse requirement: values[0][a]: Invalid value: "b@c": ${LABEL_VALUE_ERROR}`],
    ["x>a", `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`],
  ])("rejects %j with 400 %j", (text, message) => {
    const err = statusOf(() => parseLabelSelector(text));
    expect(err.code).toBe(400);
    expect(err.reason).toBe("BadRequest");
    expect(err.message).toBe(message);
  });

  it.each([
    ["app=web", { app: "web" }, true],
    ["app=web", { app: "db" }, false],
    ["app=web", {}, false],
    ["app!=web", {}, true],
    ["app!=web", { app: "web" }, false],
    ["app in (a,b)", { app: "b" }, true],
    ["app in (a,b)", { app: "c" }, false],
    ["app notin (a,b)", { app: "c" }, true],
    ["app notin (a,b)", {}, true],
    ["app", { app: "" }, true],
    ["app", { other: "x" }, false],
    ["!app", { other: "x" }, true],
    ["!app", { app: "x" }, false],
    ["app=", { app: "" }, true],
    ["app=", {}, false],
    ["n>5", { n: "6" }, true],
    ["n>5", { n: "5" }, false],
    ["n<5", { n: "-3" }, true],
    ["n<5", { n: "x" }, false],
    ["n<5", {}, false],
    ["app=web,tier in (fe)", { app: "web", tier: "fe" }, true],
    ["app=web,tier in (fe)", { app: "web", tier: "be" }, false],
    ["", { anything: "goes" }, true],
  ])("%j matching %j is %s", (text, labels: Record<string, string>, expected) => {
    expect(parseLabelSelector(text).matches(labels)).toBe(expected);
  });

  it("treats absent labels as an empty set", () => {
    expect(parseLabelSelector("!app").matches(undefined)).toBe(true);
    expect(parseLabelSelector("app").matches(undefined)).toBe(false);
  });

  it("does not see labels inherited from Object.prototype", () => {
    expect(parseLabelSelector("constructor").matches({})).toBe(false);
  });

  it.each([
    ["app=web,tier=fe", "app", "web"],
    ["app==web", "app", "web"],
    ["app in (web)", "app", "web"],
    ["app in (web,db)", "app", undefined],
    ["app!=web", "app", undefined],
    ["tier=fe", "app", undefined],
  ])("%j requires %s to be exactly %j", (text, key, value) => {
    expect(parseLabelSelector(text).requiresExactMatch(key)).toBe(value);
  });

  it("says whether it is empty", () => {
    expect(parseLabelSelector("").empty).toBe(true);
    expect(parseLabelSelector("a").empty).toBe(false);
  });
});

describe("selectorFromLabelSelector", () => {
  it("combines matchLabels and matchExpressions in Kubernetes' canonical order", () => {
    const sel: LabelSelector = {
      matchLabels: { app: "x" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["b", "a"] },
        { key: "env", operator: "NotIn", values: ["prod"] },
        { key: "gpu", operator: "Exists" },
        { key: "legacy", operator: "DoesNotExist" },
      ],
    };
    const selector = selectorFromLabelSelector(sel);
    expect(selector.toString()).toBe("app=x,env notin (prod),gpu,!legacy,tier in (a,b)");
    expect(selector.matches({ app: "x", tier: "a", gpu: "1" })).toBe(true);
    expect(selector.matches({ app: "x", tier: "a", gpu: "1", legacy: "y" })).toBe(false);
  });

  it.each([undefined, {}])("selects everything for %j", (sel) => {
    const selector = selectorFromLabelSelector(sel);
    expect(selector.empty).toBe(true);
    expect(selector.matches({ a: "b" })).toBe(true);
  });

  it.each([
    [{ matchExpressions: [{ key: "a", operator: "Gt" }] }, `"Gt" is not a valid label selector operator`],
    [{ matchExpressions: [{ key: "a", operator: "In", values: [] }] }, "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"],
    [{ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }, `values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist`],
    [{ matchLabels: { "a b": "c" } }, `key: Invalid value: "a b": ${NAME_PART_ERROR}`],
  ])("rejects %j with 400 %j", (sel, message) => {
    const err = statusOf(() => selectorFromLabelSelector(sel as LabelSelector));
    expect(err.code).toBe(400);
    expect(err.message).toBe(message);
  });

  it("parses a deep-frozen selector once, and an unfrozen or invalid one every time", () => {
    // As an informer leaves it: every level frozen.
    const frozen: LabelSelector = { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["fe"] }] };
    for (const e of frozen.matchExpressions!) Object.freeze(Object.freeze(e).values);
    Object.freeze(frozen.matchExpressions);
    Object.freeze(frozen.matchLabels);
    Object.freeze(frozen);
    expect(selectorFromLabelSelector(frozen)).toBe(selectorFromLabelSelector(frozen));
    expect(selectorFromLabelSelector(frozen).toString()).toBe("app=web,tier in (fe)");
    // Frozen at the top but not below: it could change, so it is not kept.
    const shallow: LabelSelector = Object.freeze({ matchLabels: { app: "web" } });
    expect(selectorFromLabelSelector(shallow)).not.toBe(selectorFromLabelSelector(shallow));
    shallow.matchLabels!.app = "db";
    expect(selectorFromLabelSelector(shallow).toString()).toBe("app=db");
    const invalid = Object.freeze({ matchLabels: Object.freeze({ "a b": "c" }) });
    expect(() => selectorFromLabelSelector(invalid)).toThrow(StatusError);
    expect(() => selectorFromLabelSelector(invalid)).toThrow(StatusError);
  });

  it.each([
    [undefined, true],
    [{}, true],
    [{ matchLabels: {} }, true],
    [{ matchLabels: {}, matchExpressions: [] }, true],
    [{ matchLabels: { a: "b" } }, false],
    [{ matchExpressions: [{ key: "a", operator: "Exists" as const }] }, false],
  ])("isEmptySelector(%j) is %s", (sel, expected) => {
    expect(isEmptySelector(sel)).toBe(expected);
  });
});

describe("selectorFromSet and formatLabels", () => {
  it("builds an equality selector sorted by key", () => {
    expect(selectorFromSet({ tier: "fe", app: "web" }).toString()).toBe("app=web,tier=fe");
  });

  it("parses a frozen set once, and an unfrozen one every time", () => {
    const frozen = Object.freeze({ app: "web" });
    expect(selectorFromSet(frozen)).toBe(selectorFromSet(frozen));
    const open: Record<string, string> = { app: "web" };
    expect(selectorFromSet(open).matches({ app: "web" })).toBe(true);
    open.app = "db";
    expect(selectorFromSet(open).matches({ app: "web" })).toBe(false);
  });

  it("gives an empty selector for an empty set", () => {
    expect(selectorFromSet({}).empty).toBe(true);
    expect(selectorFromSet(undefined).toString()).toBe("");
  });

  it.each([
    [{ b: "2", a: "1" }, "a=1,b=2"],
    [{}, "<none>"],
    [undefined, "<none>"],
    [{ "app.kubernetes.io/name": "x" }, "app.kubernetes.io/name=x"],
  ])("formats %j as %j", (labels, text) => {
    expect(formatLabels(labels)).toBe(text);
  });
});

describe("name validation", () => {
  it.each([
    ["app", []],
    ["example.com/app", []],
    ["A_b.c-9", []],
    ["", ["name part must be non-empty", NAME_PART_ERROR]],
    ["-app", [NAME_PART_ERROR]],
    ["a".repeat(64), ["name part must be no more than 63 characters"]],
    ["/app", ["prefix part must be non-empty"]],
    ["Example.com/app", [`prefix part ${dns1123SubdomainError}`]],
    [
      "a/b/c",
      [
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ],
    ],
  ])("label key %j gives %j", (key, errors) => {
    expect(validateLabelKey(key)).toEqual(errors);
  });

  it.each([
    ["", []],
    ["v1.2_3-x", []],
    ["-x", [LABEL_VALUE_ERROR]],
    ["a".repeat(64), ["must be no more than 63 characters"]],
  ])("label value %j gives %j", (value, errors) => {
    expect(validateLabelValue(value)).toEqual(errors);
  });

  it("prints the DNS messages as Kubernetes does", () => {
    expect(dns1123SubdomainError).toBe(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
    expect(dns1123LabelError).toBe(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  });

  it.each([
    ["web", []],
    ["web.example.com", []],
    ["Web", [dns1123SubdomainError]],
    ["a..b", [dns1123SubdomainError]],
    ["a".repeat(254), ["must be no more than 253 characters"]],
  ])("subdomain %j gives %j", (name, errors) => {
    expect(isDNS1123Subdomain(name)).toEqual(errors);
  });

  it.each([
    ["web-1", []],
    ["1web", []],
    ["web.example", ["must not contain dots"]],
    ["web_1", [dns1123LabelError]],
    ["a".repeat(64), ["must be no more than 63 characters"]],
  ])("label %j gives %j", (name, errors) => {
    expect(isDNS1123Label(name)).toEqual(errors);
  });

  it.each([
    ["web", 0],
    ["1web", 1],
  ])("DNS-1035 label %j has %i problems", (name, count) => {
    expect(isDNS1035Label(name)).toHaveLength(count);
  });

  it.each([
    ["http", []],
    ["http-alt", []],
    ["8080", ["must contain at least one letter (a-z)"]],
    ["a--b", ["must not contain consecutive hyphens"]],
    ["-ab", ["must not begin or end with a hyphen"]],
    ["HTTP", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)", "must contain at least one letter (a-z)"]],
    ["abcdefghijklmnop", ["must be no more than 15 characters"]],
  ])("IANA service name %j gives %j", (name, errors) => {
    expect(isIANASvcName(name)).toEqual(errors);
  });
});

describe("label selector properties", () => {
  const key = fc.stringMatching(/^[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?$/);
  const nonEmptyValue = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,8}[A-Za-z0-9])?$/);
  const value = fc.oneof(fc.constant(""), nonEmptyValue);
  const labelSet = fc.dictionary(key, value, { maxKeys: 6 });
  const requirement = fc.oneof(
    fc.tuple(key, fc.constantFrom("=", "==", "!="), value).map(([k, op, v]) => `${k}${op}${v}`),
    fc.tuple(key, fc.constantFrom("in", "notin"), fc.array(nonEmptyValue, { minLength: 1, maxLength: 3 })).map(([k, op, vs]) => `${k} ${op} (${vs.join(",")})`),
    key,
    key.map((k) => `!${k}`),
  );
  const selectorText = fc.array(requirement, { maxLength: 5 }).map((rs) => rs.join(","));

  it("matches the very label set it was built from", () => {
    fc.assert(
      fc.property(labelSet, (labels) => {
        expect(selectorFromSet(labels).matches(labels)).toBe(true);
      }),
    );
  });

  it("parses its own canonical string back to the same selector", () => {
    fc.assert(
      fc.property(selectorText, labelSet, (text, labels) => {
        const selector = parseLabelSelector(text);
        const again = parseLabelSelector(selector.toString());
        expect(again.toString()).toBe(selector.toString());
        expect(again.matches(labels)).toBe(selector.matches(labels));
      }),
    );
  });

  it("reads formatted labels back as an equality selector", () => {
    fc.assert(
      fc.property(labelSet, (labels) => {
        fc.pre(Object.keys(labels).length > 0);
        expect(parseLabelSelector(formatLabels(labels)).toString()).toBe(selectorFromSet(labels).toString());
      }),
    );
  });
});
