import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ageSince, humanDuration, shortHumanDuration } from "./duration.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;

describe("humanDuration", () => {
  it.each([
    [-3 * S, "<invalid>"],
    [-2 * S, "<invalid>"],
    [-1999, "0s"],
    [-1 * S, "0s"],
    [-1, "0s"],
    [0, "0s"],
    [999, "0s"],
    [45 * S, "45s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [2 * M + 5 * S, "2m5s"],
    [9 * M + 59 * S, "9m59s"],
    [10 * M + 30 * S, "10m"],
    [95 * M, "95m"],
    [3 * H - 1, "179m"],
    [3 * H, "3h"],
    [5 * H + 3 * M, "5h3m"],
    [8 * H, "8h"],
    [47 * H + 59 * M, "47h"],
    [48 * H, "2d"],
    [3 * D + 4 * H, "3d4h"],
    [8 * D, "8d"],
    [45 * D, "45d"],
    [2 * Y - 1, "729d"],
    [2 * Y, "2y"],
    [3 * Y + 20 * D, "3y20d"],
    [8 * Y, "8y"],
    [9 * Y + 100 * D, "9y"],
  ])("prints %d ms as %j", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it("never prints more than two units", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 * Y }), (ms) => {
        expect(humanDuration(ms)).toMatch(/^\d+[smhdy](\d+[smhd])?$/);
      }),
    );
  });
});

describe("shortHumanDuration", () => {
  it.each([
    [-5 * S, "<invalid>"],
    [-1 * S, "0s"],
    [59 * S, "59s"],
    [60 * S, "1m"],
    [59 * M, "59m"],
    [H, "1h"],
    [23 * H, "23h"],
    [D, "1d"],
    [364 * D, "364d"],
    [Y, "1y"],
  ])("prints %d ms as %j", (ms, text) => {
    expect(shortHumanDuration(ms)).toBe(text);
  });
});

describe("ageSince", () => {
  const now = Date.parse("2024-05-01T12:00:00Z");

  it.each([
    ["2024-05-01T11:59:15Z", "45s"],
    ["2024-04-29T12:00:00Z", "2d"],
    [undefined, "<unknown>"],
    ["", "<unknown>"],
    ["yesterday", "<unknown>"],
  ])("prints the age of %j as %j", (timestamp, text) => {
    expect(ageSince(timestamp, now)).toBe(text);
  });
});
