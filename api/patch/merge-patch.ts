// JSON Merge Patch (RFC 7386), as `kubectl label`, `annotate` and `scale` send it: objects merge recursively, a null
// member deletes, and anything else (lists included) replaces what was there.
import { isRecord } from "../meta.js";
import { cloneJson, getOwn, setOwn } from "../normalize.js";

/** Applies `patch` to `original` and returns a new value that shares nothing with either input. */
export function applyMergePatch(original: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return cloneJson(patch);
  const target: Record<string, unknown> = isRecord(original) ? cloneJson(original) : {};
  mergeInto(target, patch);
  return target;
}

/** Merges `patch` into `target`, which the caller owns. */
function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- deleting the member the patch names
      delete target[key];
    } else if (isRecord(value)) {
      const current = getOwn(target, key);
      const next: Record<string, unknown> = isRecord(current) ? current : {};
      mergeInto(next, value);
      setOwn(target, key, next);
    } else {
      setOwn(target, key, cloneJson(value));
    }
  }
}
