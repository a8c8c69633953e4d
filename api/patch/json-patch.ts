// JSON Patch (RFC 6902) with JSON Pointers (RFC 6901), as `kubectl rollout undo` and `kubectl patch --type=json`
// send it. Errors follow the apiserver: a body that is not a list of operation objects is 400 BadRequest; an operation
// that cannot be applied (missing path, failed test, bad index) is 422 Invalid with the cause in details, the way
// Kubernetes wraps evanphx/json-patch failures.
import { StatusError, badRequest } from "../errors.js";
import { isRecord } from "../meta.js";
import { cloneJson, deepEqual, getOwn, setOwn } from "../normalize.js";

export type JsonPatchOp = "add" | "remove" | "replace" | "move" | "copy" | "test";

export interface JsonPatchOperation {
  op: JsonPatchOp;
  path: string;
  value?: unknown;
  from?: string;
}

/** The apiserver's limit on operations in one JSON patch. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/**
 * Applies `patch` (an array of operations) to `original` and returns the result. Operations apply in order to a
 * copy, so a failure part-way leaves `original` untouched, and the result shares nothing with either input.
 */
export function applyJsonPatch(original: unknown, patch: unknown): unknown {
  const operations = decodeJsonPatch(patch);
  let doc = cloneJson(original);
  for (const op of operations) doc = applyOperation(doc, op);
  return doc;
}

/** Checks the body's shape: 400 unless it is an array of objects; 413 past MAX_JSON_PATCH_OPERATIONS. */
export function decodeJsonPatch(patch: unknown): Record<string, unknown>[] {
  if (!Array.isArray(patch)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  const ops: Record<string, unknown>[] = [];
  for (const op of patch) {
    if (!isRecord(op)) throw badRequest("json: cannot unmarshal non-object into Go value of type jsonpatch.Operation");
    ops.push(op);
  }
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new StatusError(
      413,
      "RequestEntityTooLarge",
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    );
  }
  return ops;
}

/**
 * 422 Invalid with empty details, as NewGenericServerResponse builds it for a patch that does not apply. Kubernetes'
 * message is only the generic sentence; kubelab adds why the patch did not apply after it.
 */
function cannotApply(message: string): StatusError {
  return new StatusError(422, "Invalid", `the server rejected our request due to an error in our request: ${message}`, {});
}

/** Splits a JSON Pointer into unescaped reference tokens ("" is the whole document). */
export function parseJsonPointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw cannotApply(`JSON pointer must be empty or start with a "/": ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Joins reference tokens into a JSON Pointer, escaping `~` and `/`. */
export function formatJsonPointer(tokens: readonly string[]): string {
  return tokens.map((t) => `/${t.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

function stringField(op: Record<string, unknown>, name: string, opName: string): string {
  const value = op[name];
  if (typeof value !== "string") throw cannotApply(`${opName} operation, missing ${name} field`);
  return value;
}

function valueField(op: Record<string, unknown>, opName: string): unknown {
  if (!Object.hasOwn(op, "value")) throw cannotApply(`${opName} operation, missing value field`);
  return op.value;
}

function applyOperation(doc: unknown, op: Record<string, unknown>): unknown {
  const name = op.op;
  switch (name) {
    case "add": {
      const path = stringField(op, "path", name);
      return add(doc, path, cloneJson(valueField(op, name)), name);
    }
    case "remove": {
      const path = stringField(op, "path", name);
      return remove(doc, path, name);
    }
    case "replace": {
      const path = stringField(op, "path", name);
      const value = cloneJson(valueField(op, name));
      if (path === "") return value;
      const { parent, key } = resolveParent(doc, path, name);
      if (Array.isArray(parent)) {
        parent[existingIndex(parent, key, path, name)] = value;
      } else {
        if (!Object.hasOwn(parent, key)) throw cannotApply(`${name} operation does not apply: doc is missing key: ${path}: missing value`);
        setOwn(parent, key, value);
      }
      return doc;
    }
    case "move": {
      const from = stringField(op, "from", name);
      const path = stringField(op, "path", name);
      if (from === path) {
        get(doc, from, name);
        return doc;
      }
      if (path.startsWith(`${from}/`)) throw cannotApply(`move operation does not apply: cannot move ${from} into its own child ${path}`);
      const value = get(doc, from, name);
      return add(remove(doc, from, name), path, value, name);
    }
    case "copy": {
      const from = stringField(op, "from", name);
      const path = stringField(op, "path", name);
      return add(doc, path, cloneJson(get(doc, from, name)), name);
    }
    case "test": {
      const path = stringField(op, "path", name);
      const expected = valueField(op, name);
      let actual: unknown;
      try {
        actual = get(doc, path, name);
      } catch {
        throw cannotApply(`testing value ${path} failed: test failed`);
      }
      if (!deepEqual(actual, expected)) throw cannotApply(`testing value ${path} failed: test failed`);
      return doc;
    }
    default:
      throw cannotApply(`Unexpected kind: ${typeof name === "string" ? name : JSON.stringify(name ?? null)}`);
  }
}

/** The container holding the last token of `path`, and that token; the container must exist. */
function resolveParent(
  doc: unknown,
  path: string,
  opName: string,
): { parent: Record<string, unknown> | unknown[]; key: string } {
  const tokens = parseJsonPointer(path);
  const key = tokens.pop() ?? "";
  let cur: unknown = doc;
  for (const token of tokens) cur = child(cur, token, path, opName);
  if (!Array.isArray(cur) && !isRecord(cur)) throw cannotApply(`${opName} operation does not apply: doc is missing path: ${path}: missing value`);
  return { parent: cur, key };
}

function child(cur: unknown, token: string, path: string, opName: string): unknown {
  if (Array.isArray(cur)) return cur[existingIndex(cur, token, path, opName)];
  if (isRecord(cur) && Object.hasOwn(cur, token)) return getOwn(cur, token);
  throw cannotApply(`${opName} operation does not apply: doc is missing path: ${path}: missing value`);
}

function get(doc: unknown, path: string, opName: string): unknown {
  let cur = doc;
  for (const token of parseJsonPointer(path)) cur = child(cur, token, path, opName);
  return cur;
}

function add(doc: unknown, path: string, value: unknown, opName: string): unknown {
  if (path === "") return value;
  const { parent, key } = resolveParent(doc, path, opName);
  if (Array.isArray(parent)) {
    const index = key === "-" ? parent.length : arrayIndex(key, path, opName);
    if (index > parent.length) throw cannotApply(`${opName} operation does not apply: index out of bounds: ${path}`);
    parent.splice(index, 0, value);
  } else {
    setOwn(parent, key, value);
  }
  return doc;
}

function remove(doc: unknown, path: string, opName: string): unknown {
  if (path === "") throw cannotApply(`${opName} operation does not apply: cannot remove the whole document`);
  const { parent, key } = resolveParent(doc, path, opName);
  if (Array.isArray(parent)) {
    parent.splice(existingIndex(parent, key, path, opName), 1);
  } else {
    if (!Object.hasOwn(parent, key)) throw cannotApply(`${opName} operation does not apply: doc is missing key: ${path}: missing value`);
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the key comes from the patch; that is the point
    delete parent[key];
  }
  return doc;
}

/** RFC 6901 array index: "0" or digits without a leading zero. */
function arrayIndex(token: string, path: string, opName: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw cannotApply(`${opName} operation does not apply: invalid array index ${JSON.stringify(token)} in ${path}`);
  return Number(token);
}

function existingIndex(array: readonly unknown[], token: string, path: string, opName: string): number {
  const index = arrayIndex(token, path, opName);
  if (index >= array.length) throw cannotApply(`${opName} operation does not apply: index out of bounds: ${path}`);
  return index;
}
