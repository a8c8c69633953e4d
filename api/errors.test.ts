import { describe, expect, it } from "vitest";
import { alreadyExists, conflict, errorMessage, isAlreadyExists, isConflict, isNotFound, notFound, retryOnConflict, StatusError, toError } from "./errors.js";

describe("status predicates", () => {
  it("tell NotFound, Conflict and AlreadyExists apart, and nothing else matches", () => {
    expect([isNotFound(notFound("pods", "a")), isConflict(notFound("pods", "a")), isAlreadyExists(notFound("pods", "a"))]).toEqual([true, false, false]);
    expect([isNotFound(conflict("pods", "a")), isConflict(conflict("pods", "a")), isAlreadyExists(conflict("pods", "a"))]).toEqual([false, true, false]);
    expect([isNotFound(alreadyExists("pods", "a")), isConflict(alreadyExists("pods", "a")), isAlreadyExists(alreadyExists("pods", "a"))]).toEqual([false, false, true]);
    expect(isNotFound(new StatusError(404, "BadRequest", "a bare 404"))).toBe(true);
    expect(isNotFound(new Error("NotFound"))).toBe(false);
  });
});

describe("retryOnConflict", () => {
  it("writes again after a conflict, handing over the error, until the write succeeds", async () => {
    const seen: unknown[] = [];
    const result = await retryOnConflict((previous) => {
      seen.push(previous);
      return seen.length < 3 ? Promise.reject(conflict("pods", "a")) : Promise.resolve("written");
    });
    expect(result).toBe("written");
    expect(seen[0]).toBeUndefined();
    expect(isConflict(seen[1])).toBe(true);
    expect(seen).toHaveLength(3);
  });

  it("gives up after `attempts` and on errors that are not retriable", async () => {
    let calls = 0;
    await expect(retryOnConflict(() => { calls++; return Promise.reject(conflict("pods", "a")); }, { attempts: 2 })).rejects.toSatisfy(isConflict);
    expect(calls).toBe(2);
    calls = 0;
    await expect(retryOnConflict(() => { calls++; return Promise.reject(notFound("pods", "a")); })).rejects.toSatisfy(isNotFound);
    expect(calls).toBe(1);
    calls = 0;
    await expect(retryOnConflict(() => { calls++; return Promise.reject(notFound("pods", "a")); }, { attempts: 3, retriable: isNotFound })).rejects.toSatisfy(isNotFound);
    expect(calls).toBe(3);
  });
});

describe("toError / errorMessage", () => {
  it("keep Errors and wrap anything else", () => {
    const err = new Error("boom");
    expect(toError(err)).toBe(err);
    expect(toError("text").message).toBe("text");
    expect(errorMessage(42)).toBe("42");
  });
});
