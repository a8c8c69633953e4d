import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shellQuote } from "./runtime.js";

describe("shellQuote", () => {
  it.each([["plain"], ["two words"], ["it's"], ["'"], ["$HOME `x` \"q\" \\ *"], [""]])("passes %j through sh -c unchanged", (word) => {
    expect(execFileSync("/bin/sh", ["-c", `printf %s ${shellQuote(word)}`]).toString()).toBe(word);
  });
});
