import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StatusError } from "./errors.js";
import {
  QUANTITY_FORMAT_ERROR,
  QUANTITY_SUFFIX_ERROR,
  addQuantities,
  canonicalQuantity,
  compareQuantities,
  formatQuantity,
  isQuantity,
  parseQuantity,
  quantityError,
  quantityFromMilli,
  quantityFromValue,
  quantityToMilli,
  quantityToNumber,
  quantityValue,
  subtractQuantities,
  sumQuantities,
  type Quantity,
  type QuantityFormat,
} from "./quantity.js";

describe("parseQuantity and formatQuantity", () => {
  it.each([
    ["100m", "100m"],
    ["0.5", "500m"],
    ["2", "2"],
    ["1Gi", "1Gi"],
    ["200Mi", "200Mi"],
    ["1e3", "1e3"],
    ["1k", "1k"],
    ["1M", "1M"],
    ["1000m", "1"],
    ["1500", "1500"],
    ["1.5", "1500m"],
    ["1024Mi", "1Gi"],
    ["1536Mi", "1536Mi"],
    ["1.5Gi", "1536Mi"],
    ["0.5Ki", "512"],
    ["0.1Ki", "102400m"],
    ["1023", "1023"],
    ["1e-3", "1e-3"],
    ["12e3", "12e3"],
    ["1.5e3", "1500"],
    ["1E3", "1e3"],
    ["1E", "1E"],
    ["5n", "5n"],
    ["2u", "2u"],
    ["0.0000000001", "1n"],
    ["1.5n", "2n"],
    ["-1.5n", "-2n"],
    ["-100m", "-100m"],
    ["-2Ki", "-2Ki"],
    ["+5", "5"],
    ["0", "0"],
    ["-0", "0"],
    ["0Gi", "0"],
    ["00012", "12"],
    ["1.", "1"],
    [".5", "500m"],
    ["  64Mi ", "64Mi"],
    ["9223372036854775807", "9223372036854775807"],
    ["9999999999999999999999", "9223372036854775807"],
    ["1e400", "9223372036854775807"],
    ["1e-400", "1e-9"],
    ["1000k", "1M"],
    ["1000E", "9223372036854775807"],
  ])("reads %j and prints it canonically as %j", (text, canonical) => {
    expect(formatQuantity(parseQuantity(text))).toBe(canonical);
  });

  it.each([
    [1, "1"],
    [0.25, "250m"],
    [1e21, "9223372036854775807"],
    [-3, "-3"],
  ])("reads the JSON number %d as %j", (n, canonical) => {
    expect(canonicalQuantity(n)).toBe(canonical);
  });

  it.each([
    ["", QUANTITY_FORMAT_ERROR],
    ["abc", QUANTITY_FORMAT_ERROR],
    [".", QUANTITY_FORMAT_ERROR],
    ["-", QUANTITY_FORMAT_ERROR],
    ["1.2.3", QUANTITY_FORMAT_ERROR],
    ["--1", QUANTITY_FORMAT_ERROR],
    ["1 Gi", QUANTITY_FORMAT_ERROR],
    ["1Gb", QUANTITY_FORMAT_ERROR],
    ["1K", QUANTITY_SUFFIX_ERROR],
    ["1e", QUANTITY_SUFFIX_ERROR],
    ["1kk", QUANTITY_SUFFIX_ERROR],
    ["1Mi5", QUANTITY_SUFFIX_ERROR],
  ])("rejects %j with 400 %j", (text, message) => {
    let caught: unknown;
    try {
      parseQuantity(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StatusError);
    expect((caught as StatusError).code).toBe(400);
    expect((caught as StatusError).message).toBe(message);
  });

  it("words the format error as Kubernetes' validation does", () => {
    expect(QUANTITY_FORMAT_ERROR).toBe("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  });

  it.each([
    ["1Gi", true, undefined],
    [2, true, undefined],
    ["nope", false, QUANTITY_FORMAT_ERROR],
    [null, false, QUANTITY_FORMAT_ERROR],
    [{}, false, QUANTITY_FORMAT_ERROR],
  ])("isQuantity(%j) is %s", (value, valid, message) => {
    expect(isQuantity(value)).toBe(valid);
    expect(quantityError(value)).toBe(message);
  });

  it("keeps the format the value was written in", () => {
    expect(parseQuantity("1Gi").format).toBe("BinarySI");
    expect(parseQuantity("1e3").format).toBe("DecimalExponent");
    expect(parseQuantity("1k").format).toBe("DecimalSI");
    expect(parseQuantity("0.5Ki").format).toBe("BinarySI");
    expect(parseQuantity("0.0001Ki").format).toBe("DecimalSI");
  });
});

describe("quantity arithmetic", () => {
  it.each([
    ["100m", 100, 1, 0.1],
    ["0.5", 500, 1, 0.5],
    ["2", 2000, 2, 2],
    ["1Gi", 1073741824000, 1073741824, 1073741824],
    ["128Mi", 134217728000, 134217728, 134217728],
    ["1n", 1, 1, 1e-9],
    ["-1n", -1, -1, -1e-9],
    ["0", 0, 0, 0],
  ])("%j is %d milli, %d units and about %d", (text, milli, units, approx) => {
    const q = parseQuantity(text);
    expect(quantityToMilli(q)).toBe(milli);
    expect(quantityValue(q)).toBe(units);
    expect(quantityToNumber(q)).toBeCloseTo(approx, 12);
  });

  it.each([
    ["1", "1000m", 0],
    ["999m", "1", -1],
    ["1Gi", "1G", 1],
    ["1e3", "1k", 0],
    ["-1", "0", -1],
  ])("compares %j with %j as %d", (a, b, order) => {
    expect(compareQuantities(parseQuantity(a), parseQuantity(b))).toBe(order);
  });

  it("adds in the first operand's format, unless that is zero", () => {
    expect(formatQuantity(addQuantities(parseQuantity("100m"), parseQuantity("900m")))).toBe("1");
    expect(formatQuantity(addQuantities(parseQuantity("1Gi"), parseQuantity("512Mi")))).toBe("1536Mi");
    expect(formatQuantity(addQuantities(parseQuantity("0"), parseQuantity("1Ki")))).toBe("1Ki");
    expect(formatQuantity(subtractQuantities(parseQuantity("1Gi"), parseQuantity("1Gi")))).toBe("0");
    expect(formatQuantity(sumQuantities(["250m", "250m", "0.5"].map((s) => parseQuantity(s))))).toBe("1");
    expect(formatQuantity(sumQuantities([]))).toBe("0");
  });

  it("builds quantities from millis and whole units", () => {
    expect(formatQuantity(quantityFromMilli(250))).toBe("250m");
    expect(formatQuantity(quantityFromValue(1073741824, "BinarySI"))).toBe("1Gi");
    expect(formatQuantity(quantityFromValue(1500n))).toBe("1500");
  });
});

describe("quantity properties", () => {
  const MAX_NANOS = (2n ** 63n - 1n) * 1_000_000_000n;
  const quantity = fc.record({
    nanos: fc.bigInt({ min: -MAX_NANOS, max: MAX_NANOS }),
    format: fc.constantFrom<QuantityFormat>("DecimalSI", "BinarySI", "DecimalExponent"),
  });

  it("reads every canonical string back to the same value", () => {
    fc.assert(
      fc.property(quantity, (q: Quantity) => {
        expect(parseQuantity(formatQuantity(q)).nanos).toBe(q.nanos);
      }),
    );
  });

  it("prints a canonical string that is already canonical", () => {
    fc.assert(
      fc.property(quantity, (q: Quantity) => {
        const text = formatQuantity(q);
        expect(canonicalQuantity(text)).toBe(text);
      }),
    );
  });

  it("sums millicores exactly", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 64_000 }), { maxLength: 50 }), (millis) => {
        const total = sumQuantities(millis.map((m) => parseQuantity(`${m}m`)));
        expect(quantityToMilli(total)).toBe(millis.reduce((a, b) => a + b, 0));
      }),
    );
  });

  it("orders memory sizes the way their byte counts order", () => {
    const size = fc.tuple(fc.integer({ min: 0, max: 4096 }), fc.constantFrom("", "Ki", "Mi", "Gi", "k", "M", "G"));
    fc.assert(
      fc.property(size, size, ([a, sa], [b, sb]) => {
        const qa = parseQuantity(`${a}${sa}`);
        const qb = parseQuantity(`${b}${sb}`);
        expect(compareQuantities(qa, qb)).toBe(Math.sign(quantityValue(qa) - quantityValue(qb)));
      }),
    );
  });
});
