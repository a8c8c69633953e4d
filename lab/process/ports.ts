// Free loopback ports for components that must be told their port before they start.
import { createServer } from "node:net";

/**
 * A TCP port that was free on 127.0.0.1 a moment ago (the kernel picked it for a listener that is closed again).
 * Another process may take it before the component binds it; on these single-user machines that does not happen.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}
