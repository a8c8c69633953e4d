// Readiness probes: a single HTTP GET without keep-alive (so that polling leaves no sockets behind), and a line of
// output matching a pattern.
import { get } from "node:http";

/** True when `url` answers 2xx within `timeoutMs`; false on any error, other status or timeout. */
export function httpOk(url: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 300);
    });
    req.on("timeout", () => {
      req.destroy();
    });
    req.on("error", () => {
      resolve(false);
    });
  });
}
