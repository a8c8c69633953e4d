import { describe, expect, it } from "vitest";
import { commandFate } from "./command-fate.js";

describe("commandFate", () => {
  it("ends sleep, exit, echo, true and false as documented", () => {
    expect(commandFate(["sleep", "5"], undefined)).toEqual({ exitCode: 0, afterMs: 5000 });
    expect(commandFate(undefined, ["sleep", "1m", "0.5"])).toEqual({ exitCode: 0, afterMs: 60_500 });
    expect(commandFate(["exit", "300"], [])).toEqual({ exitCode: 44, afterMs: 0 });
    expect(commandFate(undefined, ["echo", "hi"])).toEqual({ exitCode: 0, afterMs: 0 });
    expect(commandFate(["/bin/true"], undefined)).toEqual({ exitCode: 0, afterMs: 0 });
    expect(commandFate(["false"], undefined)).toEqual({ exitCode: 1, afterMs: 0 });
  });

  it("runs shell scripts of simple commands", () => {
    expect(commandFate(["sh", "-c", "exit 3"], undefined)).toEqual({ exitCode: 3, afterMs: 0 });
    expect(commandFate(["/bin/sh", "-c"], ["sleep 2; echo done; exit 1"])).toEqual({ exitCode: 1, afterMs: 2000 });
    expect(commandFate(["bash", "-c", "false && sleep 10"], undefined)).toEqual({ exitCode: 1, afterMs: 0 });
  });

  it("leaves everything else running forever", () => {
    expect(commandFate(undefined, undefined)).toBeUndefined();
    expect(commandFate(["nginx"], ["-g", "daemon off;"])).toBeUndefined();
    expect(commandFate(["sleep", "infinity"], undefined)).toBeUndefined();
    expect(commandFate(["sh", "-c", "while true; do sleep 1; done"], undefined)).toBeUndefined();
  });
});
