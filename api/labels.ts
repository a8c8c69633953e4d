// Label selectors (k8s.io/apimachinery/pkg/labels) and the name syntax checks of
// k8s.io/apimachinery/pkg/util/validation. Parse errors, validation messages and the canonical selector string are
// Kubernetes' word for word: kubectl prints them, SELECTOR columns show them, and Scale status.selector carries one.
import { badRequest, errorMessage } from "./errors.js";
import type { LabelSelector, LabelSelectorRequirement } from "./meta.js";

/** selection.Operator values, as Kubernetes spells them. */
export type Operator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

/** One requirement of a selector. `values` is sorted and free of duplicates; it is empty for exists and `!`. */
export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: readonly string[];
}

/** A parsed label selector: the AND of its requirements, sorted by key. */
export interface Selector {
  readonly requirements: readonly Requirement[];
  /** True when there are no requirements; such a selector matches every label set. */
  readonly empty: boolean;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
  /** The value `key` must have for the selector to match (from `=`, `==` or a one-value `in`), if there is one. */
  requiresExactMatch(key: string): string | undefined;
  /** Kubernetes' canonical form, e.g. `app=x,tier in (a,b)`; "" when empty. */
  toString(): string;
}

/** The name the apiserver brief uses for a parsed `?labelSelector=`: a Selector. */
export type LabelSelectorRequirements = Selector;

// ---------------------------------------------------------------------------------------------------------------
// Name and value syntax (k8s.io/apimachinery/pkg/util/validation/validation.go).

const QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_ERR = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_ERR = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

const QUALIFIED_NAME_RE = anchored(QUALIFIED_NAME_FMT);
const LABEL_VALUE_RE = anchored(LABEL_VALUE_FMT);
const DNS1123_LABEL_RE = anchored(DNS1123_LABEL_FMT);
const DNS1123_SUBDOMAIN_RE = anchored(DNS1123_SUBDOMAIN_FMT);
const DNS1035_LABEL_RE = anchored(DNS1035_LABEL_FMT);

export const LABEL_VALUE_MAX_LENGTH = 63;
export const DNS1123_LABEL_MAX_LENGTH = 63;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

/** The message for a name that is not a DNS-1123 subdomain (object names of most kinds). */
export const dns1123SubdomainError = regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com");
/** The message for a name that is not a DNS-1123 label (namespaces, container names, ...). */
export const dns1123LabelError = regexError(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, "my-name", "123-abc");
/** The message for a name that is not a DNS-1035 label (Service names). */
export const dns1035LabelError = regexError(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, "my-name", "abc-123");

/** Problems with a label key (a qualified name with an optional DNS subdomain prefix); empty when valid. */
export function validateLabelKey(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split("/");
  let name: string;
  if (parts.length === 1) {
    name = key;
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? "";
    name = parts[1] ?? "";
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else errs.push(...isDNS1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!QUALIFIED_NAME_RE.test(name)) {
    errs.push(`name part ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")}`);
  }
  return errs;
}

/** Problems with a label value (empty, or up to 63 name characters); empty when valid. */
export function validateLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > LABEL_VALUE_MAX_LENGTH) errs.push(maxLenError(LABEL_VALUE_MAX_LENGTH));
  if (!LABEL_VALUE_RE.test(value)) errs.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"));
  return errs;
}

/** Problems with a DNS-1123 subdomain (at most 253 characters); empty when valid. */
export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!DNS1123_SUBDOMAIN_RE.test(value)) errs.push(dns1123SubdomainError);
  return errs;
}

/** Problems with a DNS-1123 label (at most 63 characters, no dots); empty when valid. */
export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!DNS1123_LABEL_RE.test(value)) {
    // Every label is a subdomain, so a valid subdomain here can only be failing for its dots.
    errs.push(DNS1123_SUBDOMAIN_RE.test(value) ? "must not contain dots" : dns1123LabelError);
  }
  return errs;
}

/** Problems with a DNS-1035 label (a DNS-1123 label that starts with a letter); empty when valid. */
export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!DNS1035_LABEL_RE.test(value)) errs.push(dns1035LabelError);
  return errs;
}

/** Problems with an IANA service name (a named port: 1-15 of [-a-z0-9], a letter, no edge or double hyphens). */
export function isIANASvcName(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(value)) errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!/[a-z]/.test(value)) errs.push("must contain at least one letter (a-z)");
  if (value.includes("--")) errs.push("must not contain consecutive hyphens");
  if (value.startsWith("-") || value.endsWith("-")) errs.push("must not begin or end with a hyphen");
  return errs;
}

function anchored(fmt: string): RegExp {
  return new RegExp(`^(?:${fmt})$`);
}

function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}

/** validation.RegexError: the message, the examples, then the regex (the double spaces are Kubernetes'). */
function regexError(message: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${fmt}')`;
  return `${message} (e.g. ${examples.map((e) => `'${e}', `).join(" or ")}regex used for validation is '${fmt}')`;
}

// ---------------------------------------------------------------------------------------------------------------
// Selectors.

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

class RequirementSelector implements Selector {
  readonly requirements: readonly Requirement[];
  /** toString's result, computed on first use (the requirements never change). */
  private text: string | undefined;

  constructor(requirements: readonly Requirement[]) {
    // Stable sort keeps the order of requirements that share a key, so toString is deterministic.
    this.requirements = Object.freeze([...requirements].sort((a, b) => compareStrings(a.key, b.key)));
  }

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    // A plain loop: controllers and the scheduler call this per pod, and per pod and node.
    const set = labels ?? NO_LABELS;
    for (const r of this.requirements) if (!requirementMatches(r, set)) return false;
    return true;
  }

  requiresExactMatch(key: string): string | undefined {
    for (const r of this.requirements) {
      if (r.key !== key) continue;
      if ((r.operator === "=" || r.operator === "==" || r.operator === "in") && r.values.length === 1) return r.values[0];
    }
    return undefined;
  }

  toString(): string {
    this.text ??= this.requirements.map(requirementString).join(",");
    return this.text;
  }
}

function requirementMatches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case "=":
    case "==":
    case "in":
      return value !== undefined && r.values.includes(value);
    case "!=":
    case "notin":
      return value === undefined || !r.values.includes(value);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (value === undefined || !isInteger(value) || !isInteger(r.values[0] ?? "")) return false;
      const have = BigInt(value);
      const want = BigInt(r.values[0] ?? "0");
      return r.operator === "gt" ? have > want : have < want;
    }
  }
}

function requirementString(r: Requirement): string {
  const values = r.values.join(",");
  switch (r.operator) {
    case "!":
      return `!${r.key}`;
    case "exists":
      return r.key;
    case "in":
    case "notin":
      return `${r.key} ${r.operator} (${values})`;
    case "gt":
      return `${r.key}>${values}`;
    case "lt":
      return `${r.key}<${values}`;
    case "=":
    case "==":
    case "!=":
      return `${r.key}${r.operator}${values}`;
  }
}

/** A selector matching everything. */
export function everything(): Selector {
  return new RequirementSelector([]);
}

/**
 * The selector that requires every key of `set` to have its value (`a=b,c=d`). An empty or absent set gives an
 * empty selector, which matches everything; callers such as Services, where no selector means "select nothing",
 * must check for that themselves.
 */
export function selectorFromSet(set: Readonly<Record<string, string>> | undefined): Selector {
  // A frozen set (an informer object's) always gives the same selector: parsed once (see selectorFromLabelSelector).
  const frozen = set !== undefined && Object.isFrozen(set);
  if (frozen) {
    const cached = parsedSets.get(set);
    if (cached) return cached;
  }
  const reqs = Object.entries(set ?? {}).map(([key, value]) => newRequirement(key, "=", [value]));
  const parsed = new RequirementSelector(reqs);
  if (frozen) parsedSets.set(set, parsed);
  return parsed;
}

const parsedSets = new WeakMap<Readonly<Record<string, string>>, Selector>();

/** True when `sel` is absent or has neither matchLabels nor matchExpressions entries. */
export function isEmptySelector(sel: LabelSelector | undefined): boolean {
  if (sel === undefined) return true;
  return Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
}

/**
 * Converts a metav1.LabelSelector. Absent or empty selects everything (Kubernetes' LabelSelectorAsSelector would
 * select nothing for a nil selector; callers decide what an empty selector means, see isEmptySelector).
 * Throws BadRequest for an invalid key, value or operator.
 */
export function selectorFromLabelSelector(sel: LabelSelector | undefined): Selector {
  if (sel === undefined) return everything();
  // Informer objects are deep-frozen, so a frozen selector parses to the same Selector every time: controllers and
  // the scheduler parse their owners' selectors once per sync or per pod, and validating each key and value is the
  // cost. Only successful parses are kept; an invalid selector throws every time.
  const frozen = isDeepFrozen(sel);
  if (frozen) {
    const cached = parsedSelectors.get(sel);
    if (cached) return cached;
  }
  const parsed = compileLabelSelector(sel);
  if (frozen) parsedSelectors.set(sel, parsed);
  return parsed;
}

const parsedSelectors = new WeakMap<LabelSelector, Selector>();

function isDeepFrozen(sel: LabelSelector): boolean {
  if (!Object.isFrozen(sel)) return false;
  if (sel.matchLabels !== undefined && !Object.isFrozen(sel.matchLabels)) return false;
  const exprs = sel.matchExpressions;
  if (exprs === undefined) return true;
  if (!Object.isFrozen(exprs)) return false;
  for (const e of exprs) if (!Object.isFrozen(e) || (e.values !== undefined && !Object.isFrozen(e.values))) return false;
  return true;
}

function compileLabelSelector(sel: LabelSelector): Selector {
  const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, value]) => newRequirement(key, "=", [value]));
  for (const expr of sel.matchExpressions ?? []) reqs.push(newRequirement(expr.key, operatorOf(expr), expr.values ?? []));
  return new RequirementSelector(reqs);
}

function operatorOf(expr: LabelSelectorRequirement): Operator {
  const op: string = expr.operator;
  switch (op) {
    case "In":
      return "in";
    case "NotIn":
      return "notin";
    case "Exists":
      return "exists";
    case "DoesNotExist":
      return "!";
    default:
      throw badRequest(`${JSON.stringify(op)} is not a valid label selector operator`);
  }
}

/** Labels as kubectl prints them: `a=b,c=d` sorted by key, or `<none>`. */
export function formatLabels(labels: Readonly<Record<string, string>> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort(compareStrings);
  if (keys.length === 0) return "<none>";
  return keys.map((k) => `${k}=${labels?.[k] ?? ""}`).join(",");
}

/**
 * Builds a requirement the way labels.NewRequirement does: validates key, values and arity, and sorts and
 * de-duplicates the values. Throws BadRequest with the field-error text Kubernetes gives.
 */
export function newRequirement(key: string, operator: Operator, values: readonly string[]): Requirement {
  const errs: string[] = [];
  const keyErrs = validateLabelKey(key);
  if (keyErrs.length > 0) errs.push(invalidValue("key", key, keyErrs.join("; ")));
  switch (operator) {
    case "in":
    case "notin":
      if (values.length === 0) errs.push(invalidList("values", values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case "=":
    case "==":
    case "!=":
      if (values.length !== 1) errs.push(invalidList("values", values, "exact-match compatibility requires one single value"));
      break;
    case "exists":
    case "!":
      if (values.length !== 0) errs.push(invalidList("values", values, "values set must be empty for exists and does not exist"));
      break;
    case "gt":
    case "lt":
      if (values.length !== 1) errs.push(invalidList("values", values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (!isInteger(v)) errs.push(invalidValue(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const valueErrs = validateLabelValue(v);
    if (valueErrs.length > 0) errs.push(invalidValue(`values[${i}][${key}]`, v, valueErrs.join("; ")));
  });
  if (errs.length === 1) throw badRequest(errs[0] ?? "");
  if (errs.length > 1) throw badRequest(`[${errs.join(", ")}]`);
  return { key, operator, values: [...new Set(values)].sort(compareStrings) };
}

function invalidValue(field: string, value: string, detail: string): string {
  return `${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

function invalidList(field: string, values: readonly string[], detail: string): string {
  const shown = values.length === 0 ? "[]string(nil)" : `[]string{${values.map((v) => JSON.stringify(v)).join(", ")}}`;
  return `${field}: Invalid value: ${shown}: ${detail}`;
}

function isInteger(s: string): boolean {
  if (!/^[+-]?\d+$/.test(s)) return false;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

/** Byte-wise order, as Go's sort.Strings gives, independent of locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The `?labelSelector=` syntax (labels.Parse): a lexer and a recursive-descent parser with Kubernetes' messages.

type TokenKind = "identifier" | "=" | "==" | "!=" | "!" | "(" | ")" | "," | ">" | "<" | "in" | "notin" | "end";

interface Token {
  readonly kind: TokenKind;
  readonly literal: string;
}

const SPECIAL = new Set(["=", "!", "(", ")", ",", ">", "<"]);
const WHITESPACE = new Set([" ", "\t", "\r", "\n"]);
const SYMBOL_TOKENS: ReadonlySet<string> = new Set(["==", "!=", "=", "!", "(", ")", ",", ">", "<"]);

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (WHITESPACE.has(ch)) {
      i++;
    } else if (SPECIAL.has(ch)) {
      // Greedy: the longest run of special characters that is still a token ("!=" rather than "!" then "=").
      const two = text.slice(i, i + 2);
      const symbol = SYMBOL_TOKENS.has(two) ? two : ch;
      tokens.push({ kind: symbol as TokenKind, literal: symbol });
      i += symbol.length;
    } else {
      let j = i;
      while (j < text.length && !WHITESPACE.has(text.charAt(j)) && !SPECIAL.has(text.charAt(j))) j++;
      const word = text.slice(i, j);
      tokens.push({ kind: word === "in" || word === "notin" ? word : "identifier", literal: word });
      i = j;
    }
  }
  tokens.push({ kind: "end", literal: "" });
  return tokens;
}

/** Where the keywords `in` and `notin` are read: as operators after a key, as plain words where a value goes. */
type Context = "operator" | "values";

class Parser {
  private pos = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  private peek(context: Context): Token {
    return this.inContext(this.tokens[this.pos] ?? { kind: "end", literal: "" }, context);
  }

  private next(context: Context): Token {
    const token = this.peek(context);
    if (this.pos < this.tokens.length - 1) this.pos++;
    return token;
  }

  private inContext(token: Token, context: Context): Token {
    if (context === "values" && (token.kind === "in" || token.kind === "notin")) return { kind: "identifier", literal: token.literal };
    return token;
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    for (;;) {
      const token = this.peek("values");
      if (token.kind === "end") return requirements;
      if (token.kind !== "identifier" && token.kind !== "!") {
        throw new Error(`found '${token.literal}', expected: !, identifier, or 'end of string'`);
      }
      try {
        requirements.push(this.parseRequirement());
      } catch (err) {
        throw new Error(`unable to parse requirement: ${errorMessage(err)}`);
      }
      const after = this.next("values");
      if (after.kind === "end") return requirements;
      if (after.kind !== ",") throw new Error(`found '${after.literal}', expected: ',' or 'end of string'`);
      const following = this.peek("values");
      if (following.kind !== "identifier" && following.kind !== "!") {
        throw new Error(`found '${following.literal}', expected: identifier after ','`);
      }
    }
  }

  private parseRequirement(): Requirement {
    let negated = false;
    let token = this.next("values");
    if (token.kind === "!") {
      negated = true;
      token = this.next("values");
    }
    if (token.kind !== "identifier") throw new Error(`found '${token.literal}', expected: identifier`);
    const key = token.literal;
    const keyErrs = validateLabelKey(key);
    if (keyErrs.length > 0) throw new Error(invalidValue("key", key, keyErrs.join("; ")));
    const ahead = this.peek("values").kind;
    if (negated) return newRequirementOrError(key, "!", []);
    if (ahead === "end" || ahead === ",") return newRequirementOrError(key, "exists", []);

    const op = this.parseOperator();
    const values = op === "in" || op === "notin" ? this.parseValues() : this.parseExactValue();
    return newRequirementOrError(key, op, values);
  }

  private parseOperator(): Operator {
    const token = this.next("operator");
    switch (token.kind) {
      case "in":
      case "notin":
      case "=":
      case "==":
      case "!=":
        return token.kind;
      case ">":
        return "gt";
      case "<":
        return "lt";
      case "identifier":
      case "!":
      case "(":
      case ")":
      case ",":
      case "end":
        throw new Error(`found '${token.literal}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  /** `(a,b)`; empty entries such as `()` or `(a,)` stand for the empty value. */
  private parseValues(): string[] {
    const open = this.next("values");
    if (open.kind !== "(") throw new Error(`found '${open.literal}' expected: '('`);
    const first = this.peek("values");
    if (first.kind === ")") {
      this.next("values");
      return [""];
    }
    if (first.kind !== "identifier" && first.kind !== ",") {
      throw new Error(`found '${first.literal}', expected: ',', ')' or identifier`);
    }
    const values = this.parseIdentifierList();
    const close = this.next("values");
    if (close.kind !== ")") throw new Error(`found '${close.literal}', expected: ')'`);
    return values;
  }

  private parseIdentifierList(): string[] {
    const values: string[] = [];
    for (;;) {
      const token = this.next("values");
      if (token.kind === "identifier") {
        values.push(token.literal);
        const ahead = this.peek("values");
        if (ahead.kind === ")") return values;
        if (ahead.kind !== ",") throw new Error(`found '${ahead.literal}', expected: ',' or ')'`);
      } else if (token.kind === ",") {
        if (values.length === 0) values.push("");
        const ahead = this.peek("values");
        if (ahead.kind === ")") {
          values.push("");
          return values;
        }
        if (ahead.kind === ",") {
          this.next("values");
          values.push("");
        }
      } else {
        throw new Error(`found '${token.literal}', expected: ',', or identifier`);
      }
    }
  }

  /** The value after `=`, `==`, `!=`, `>` or `<`; nothing before a comma or the end means the empty value. */
  private parseExactValue(): string[] {
    const ahead = this.peek("values");
    if (ahead.kind === "end" || ahead.kind === ",") return [""];
    const token = this.next("values");
    if (token.kind !== "identifier") throw new Error(`found '${token.literal}', expected: identifier`);
    return [token.literal];
  }
}

function newRequirementOrError(key: string, op: Operator, values: readonly string[]): Requirement {
  try {
    return newRequirement(key, op, values);
  } catch (err) {
    throw new Error(errorMessage(err));
  }
}

/**
 * Parses the `?labelSelector=` syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`,
 * comma-joined, whitespace tolerant. "" selects everything. Throws BadRequest with Kubernetes' parse message.
 */
export function parseLabelSelector(text: string): Selector {
  try {
    return new RequirementSelector(new Parser(lex(text)).parse());
  } catch (err) {
    throw badRequest(errorMessage(err));
  }
}
