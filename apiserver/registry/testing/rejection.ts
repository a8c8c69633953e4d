// The StatusError a registry call is expected to fail with, for tests that assert on its code, reason or causes.
import { StatusError } from "../../../api/errors.js";

/** Resolves to the StatusError `promise` rejects with; fails when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<StatusError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error("expected a StatusError");
}
