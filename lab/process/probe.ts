// Readiness probes: a single HTTP(S) GET without keep-alive (so that polling leaves no sockets behind), and a line of
// output matching a pattern.
import { readFileSync } from "node:fs";
import { get, type IncomingMessage } from "node:http";
import { get as getTls } from "node:https";

/**
 * True when `url` answers 2xx within `timeoutMs`; false on any error, other status or timeout. An https URL is
 * verified against `caFile` (the lab's CA) when given, else against the system's roots.
 */
export function httpOk(url: string, timeoutMs = 1_000, caFile?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onResponse = (res: IncomingMessage): void => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 300);
    };
    let ca: Buffer | undefined;
    try {
      ca = caFile === undefined ? undefined : readFileSync(caFile);
    } catch {
      resolve(false);
      return;
    }
    const req = url.startsWith("https:") ? getTls(url, { agent: false, timeout: timeoutMs, ...(ca ? { ca } : {}) }, onResponse) : get(url, { agent: false, timeout: timeoutMs }, onResponse);
    req.on("timeout", () => {
      req.destroy();
    });
    req.on("error", () => {
      resolve(false);
    });
  });
}
