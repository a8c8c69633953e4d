// Resource quantities (k8s.io/apimachinery/pkg/api/resource): "100m", "0.5", "1Gi", "1e3", "1k". A quantity is held
// exactly as a count of nano-units in a bigint, so cpu millicores and memory bytes order and sum without rounding.
// Like Kubernetes, parsing rounds anything finer than a nano-unit up (away from zero) and caps the magnitude at
// 2^63-1 units; the canonical string keeps the format the value was written in (1Gi stays 1Gi, 1000m becomes 1).
import { badRequest } from "./errors.js";

/** How a quantity prints: SI suffixes (m, k, M), binary suffixes (Ki, Mi) or a decimal exponent (1e3). */
export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

export interface Quantity {
  /** The value times 10^9. */
  readonly nanos: bigint;
  readonly format: QuantityFormat;
}

/** Kubernetes' ErrFormatWrong: the message validation reports for a malformed quantity. */
export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/** Kubernetes' ErrSuffix: the shape is right but the suffix is unknown (`1K`, `1e`, `1kk`). */
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

const NANO = 1_000_000_000n;
const MAX_UNITS = 2n ** 63n - 1n;
const MAX_NANOS = MAX_UNITS * NANO;

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_SUFFIX_OF_EXPONENT: ReadonlyMap<number, string> = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_SUFFIX_OF_EXPONENT: ReadonlyMap<number, string> = new Map(Object.entries(BINARY_SUFFIXES).map(([s, e]) => [e, s]));

/** The number, then a suffix made of suffix letters, an optional sign and digits. */
const SHAPE = /^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)$/;

/**
 * Parses a quantity from its string form, or from a JSON number (YAML `cpu: 1`). Surrounding whitespace is
 * ignored, as Quantity.UnmarshalJSON does. Throws BadRequest with Kubernetes' message when malformed.
 */
export function parseQuantity(input: string | number): Quantity {
  const result = tryParse(input);
  if (typeof result === "string") throw badRequest(result);
  return result;
}

/** Kubernetes' message for a value that is not a quantity, or undefined for a valid one. Accepts any JSON value. */
export function quantityError(input: unknown): string | undefined {
  if (typeof input !== "string" && typeof input !== "number") return QUANTITY_FORMAT_ERROR;
  const result = tryParse(input);
  return typeof result === "string" ? result : undefined;
}

/** True for a string or number that parses as a quantity. */
export function isQuantity(input: unknown): input is string | number {
  return quantityError(input) === undefined;
}

function tryParse(input: string | number): Quantity | string {
  const text = String(input).trim();
  const m = SHAPE.exec(text);
  if (!m) return QUANTITY_FORMAT_ERROR;
  const [, sign = "", whole = "", fraction = "", suffix = ""] = m;
  if (whole === "" && fraction === "") return QUANTITY_FORMAT_ERROR;

  let format: QuantityFormat;
  let base: 2n | 10n;
  let exponent: number;
  if (Object.hasOwn(DECIMAL_SUFFIXES, suffix)) {
    [format, base, exponent] = ["DecimalSI", 10n, DECIMAL_SUFFIXES[suffix] ?? 0];
  } else if (Object.hasOwn(BINARY_SUFFIXES, suffix)) {
    [format, base, exponent] = ["BinarySI", 2n, BINARY_SUFFIXES[suffix] ?? 0];
  } else if (/^[eE][-+]?[0-9]+$/.test(suffix)) {
    [format, base, exponent] = ["DecimalExponent", 10n, Number(suffix.slice(1))];
  } else {
    return QUANTITY_SUFFIX_ERROR;
  }

  const mantissa = BigInt(`${whole}${fraction}` || "0");
  let nanos: bigint;
  if (mantissa === 0n) {
    nanos = 0n;
  } else if (base === 2n) {
    nanos = ceilDiv(mantissa * 2n ** BigInt(exponent) * NANO, 10n ** BigInt(fraction.length));
  } else {
    // value = mantissa * 10^(exponent - fraction digits); in nano-units the power grows by 9.
    const power = exponent + 9 - fraction.length;
    if (power - `${whole}${fraction}`.length > 40) nanos = MAX_NANOS; // certainly above the cap; avoid a huge power
    else if (power + `${whole}${fraction}`.length < 0) nanos = 1n; // certainly below one nano-unit: rounds up to 1n
    else nanos = power >= 0 ? mantissa * 10n ** BigInt(power) : ceilDiv(mantissa, 10n ** BigInt(-power));
  }
  if (nanos > MAX_NANOS) nanos = MAX_NANOS;
  // A fractional binary value such as 0.5Ki would print as a fraction of a Ki, so it switches to decimal.
  if (format === "BinarySI" && nanos > 0n && nanos < NANO) format = "DecimalSI";
  return { nanos: sign === "-" ? -nanos : nanos, format };
}

/** a / b rounded up, for non-negative a and positive b. */
function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** a / b rounded away from zero, for positive b. */
function divAway(a: bigint, b: bigint): bigint {
  return a < 0n ? -ceilDiv(-a, b) : ceilDiv(a, b);
}

/** Kubernetes' canonical string (Quantity.String): what the apiserver stores and kubectl shows. */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return "0";
  const sign = q.nanos < 0n ? "-" : "";
  const abs = q.nanos < 0n ? -q.nanos : q.nanos;

  // Binary suffixes only for whole numbers of at least 1Ki; anything else prints in decimal to stay exact.
  if (q.format === "BinarySI" && abs >= 1024n * NANO && abs % NANO === 0n) {
    let units = abs / NANO;
    let exponent = 0;
    while (exponent < 60 && units % 1024n === 0n) {
      units /= 1024n;
      exponent += 10;
    }
    return `${sign}${units}${BINARY_SUFFIX_OF_EXPONENT.get(exponent) ?? ""}`;
  }

  // Strip trailing zeros, then lower the exponent to a multiple of three so an SI suffix applies.
  let mantissa = abs;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  const extra = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(extra);
  exponent -= extra;

  if (q.format === "DecimalExponent") return `${sign}${mantissa}${exponent === 0 ? "" : `e${exponent}`}`;
  const suffix = DECIMAL_SUFFIX_OF_EXPONENT.get(exponent) ?? `e${exponent}`;
  return `${sign}${mantissa}${suffix}`;
}

/** The canonical form of a quantity string (`1000m` → `1`, `1024Mi` → `1Gi`). Throws like parseQuantity. */
export function canonicalQuantity(input: string | number): string {
  return formatQuantity(parseQuantity(input));
}

/** The value in thousandths, rounded away from zero (Quantity.MilliValue): cpu millicores. */
export function quantityToMilli(q: Quantity): number {
  return Number(divAway(q.nanos, 1_000_000n));
}

/** The value in whole units, rounded away from zero (Quantity.Value): memory bytes, pod counts. */
export function quantityValue(q: Quantity): number {
  return Number(divAway(q.nanos, NANO));
}

/** The value as a float, for ratios and display; exact for anything with up to ~15 significant digits. */
export function quantityToNumber(q: Quantity): number {
  const whole = q.nanos / NANO;
  const rest = q.nanos % NANO;
  return Number(whole) + Number(rest) / 1e9;
}

/** Orders quantities by value regardless of format: negative, zero or positive like a comparator. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}

/** a + b in a's format; a zero `a` takes b's format (Quantity.Add). */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

/** a - b in a's format; a zero `a` takes b's format (Quantity.Sub). */
export function subtractQuantities(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos - b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

/** The sum of `quantities`; zero (DecimalSI) for none. */
export function sumQuantities(quantities: Iterable<Quantity>): Quantity {
  let total: Quantity = { nanos: 0n, format: "DecimalSI" };
  for (const q of quantities) total = addQuantities(total, q);
  return total;
}

/** A quantity of `milli` thousandths (NewMilliQuantity), e.g. 250 → `250m`. */
export function quantityFromMilli(milli: number | bigint, format: QuantityFormat = "DecimalSI"): Quantity {
  return { nanos: toBigInt(milli) * 1_000_000n, format };
}

/** A quantity of whole units (NewQuantity), e.g. 1073741824 in BinarySI → `1Gi`. */
export function quantityFromValue(value: number | bigint, format: QuantityFormat = "DecimalSI"): Quantity {
  return { nanos: toBigInt(value) * NANO, format };
}

function toBigInt(n: number | bigint): bigint {
  return typeof n === "bigint" ? n : BigInt(Math.round(n));
}
