// Prometheus (Debian's /usr/bin/prometheus) scraping a lab: its configuration file and data directory are the
// lab's own (the targets come from a file_sd list the lab keeps current), its web UI and API on one port.
// Readiness is Prometheus' /-/ready.
import { renderFlags, type Component } from "./component.js";

export interface PrometheusOptions {
  /** --config.file. */
  configFile: string;
  /** --storage.tsdb.path. */
  dataDir: string;
  /** The address of --web.listen-address (default 127.0.0.1). */
  host?: string;
  port: number;
  /** --storage.tsdb.retention.time (default "1d": a lab's history is short). */
  retention?: string;
  /** The executable; defaults to `prometheus` on PATH. */
  binary?: string;
}

export function prometheusComponent(options: PrometheusOptions): Component {
  const address = `${options.host ?? "127.0.0.1"}:${options.port}`;
  return {
    name: "prometheus",
    kind: "prometheus",
    program: { kind: "binary", path: options.binary ?? "prometheus" },
    args: renderFlags([
      ["config.file", options.configFile],
      ["storage.tsdb.path", options.dataDir],
      ["storage.tsdb.retention.time", options.retention ?? "1d"],
      ["web.listen-address", address],
      ["log.level", "warn"],
    ]),
    ports: { http: options.port },
    readiness: { kind: "http", url: `http://${address}/-/ready` },
    dataDir: options.dataDir,
    links: [],
  };
}
