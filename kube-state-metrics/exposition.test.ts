import { describe, expect, it } from "vitest";
import { ExpositionWriter, escapeHelp, escapeLabelValue, formatValue, sanitizeLabelName, type FamilyGenerator } from "./exposition.js";
import { parseExposition } from "./testing/parse-exposition.js";

interface Thing {
  name: string;
  values: number[];
}

const things: FamilyGenerator<Thing> = {
  name: "test_things",
  help: "Things.\nSecond line with a \\ backslash.",
  type: "gauge",
  generate: (t) => t.values.map((v, i) => ({ labels: [["name", t.name], ["index", String(i)]], value: v })),
};

describe("exposition", () => {
  it("escapes label values and help text as the text format requires", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeHelp("a\\b\nc \"q\"")).toBe('a\\\\b\\nc "q"');
  });

  it("formats special values the way Prometheus parses them", () => {
    expect([NaN, Infinity, -Infinity, 0, 3, 0.5, 1e21].map(formatValue)).toEqual(["NaN", "+Inf", "-Inf", "0", "3", "0.5", "1e+21"]);
  });

  it("sanitizes label names", () => {
    expect(sanitizeLabelName("app.kubernetes.io/name")).toBe("app_kubernetes_io_name");
    expect(sanitizeLabelName("9lives")).toBe("_9lives");
  });

  it("writes HELP and TYPE once per family, every sample, and round-trips awkward label values", () => {
    const writer = new ExpositionWriter();
    const awkward = 'quote " backslash \\ newline \n end';
    writer.writeFamily(things, [
      { name: "a", values: [1, 2] },
      { name: awkward, values: [NaN] },
    ]);
    writer.writeFamily({ ...things, name: "test_empty", type: "counter" }, []);
    const text = writer.text();
    expect(text.match(/^# HELP test_things /gm)).toHaveLength(1);
    expect(text.match(/^# TYPE test_things gauge$/gm)).toHaveLength(1);
    expect(text).toContain("# HELP test_empty Things.\\nSecond line with a \\\\ backslash.\n# TYPE test_empty counter\n");
    const parsed = parseExposition(text);
    expect(parsed.get("test_things")?.help).toBe(things.help);
    const samples = parsed.get("test_things")!.samples;
    expect(samples.map((s) => [s.labels, s.value])).toEqual([
      [{ name: "a", index: "0" }, 1],
      [{ name: "a", index: "1" }, 2],
      [{ name: awkward, index: "0" }, NaN],
    ]);
    expect(parsed.get("test_empty")?.samples).toEqual([]);
  });

  it("writes a series an object repeats once and refuses a family written twice", () => {
    const writer = new ExpositionWriter();
    const repeating: FamilyGenerator<Thing> = { ...things, generate: (t) => [...things.generate(t), ...things.generate(t)] };
    writer.writeFamily(repeating, [{ name: "dup", values: [1] }]);
    expect(writer.text().split("\n").filter((l) => l.startsWith("test_things{"))).toEqual(['test_things{name="dup",index="0"} 1']);
    expect(() => {
      writer.writeFamily(things, []);
    }).toThrow(/written twice/);
  });

  it("reuses an object's cached lines until the object is replaced", () => {
    let generated = 0;
    const counting: FamilyGenerator<Thing> = { ...things, generate: (t) => (generated++, things.generate(t)) };
    const cache = new WeakMap<object, string>();
    const a = { name: "a", values: [1] };
    const render = (objects: Thing[]): string => {
      const writer = new ExpositionWriter();
      writer.writeFamily(counting, objects, cache);
      return writer.text();
    };
    expect(render([a])).toContain('test_things{name="a",index="0"} 1\n');
    expect(render([a])).toContain('test_things{name="a",index="0"} 1\n');
    expect(generated).toBe(1);
    expect(render([{ name: "a", values: [2] }])).toContain('test_things{name="a",index="0"} 2\n');
    expect(generated).toBe(2);
  });

  it("has a strict test reader that rejects what Prometheus would", () => {
    expect(() => parseExposition('x{a="b} 1\n')).toThrow();
    expect(() => parseExposition("# TYPE x gauge\n# TYPE x gauge\n")).toThrow(/second TYPE/);
    expect(() => parseExposition("x 1\nx 2\n")).toThrow(/repeated/);
    expect(() => parseExposition("x 1\ny 1\nx{a=\"b\"} 1\n")).toThrow(/two blocks/);
    expect(() => parseExposition('x{a="\\t"} 1\n')).toThrow(/bad escape/);
  });
});
