// Packages the apiserver needs only for some requests, loaded on the first of them instead of at start (each costs
// tens of ms and a few MB to load): express serves only the non-resource endpoints other than the health checks,
// ws only WebSocket upgrades. Loaded synchronously (their Node entries are CommonJS), so callers stay synchronous.
import { createRequire } from "node:module";
import type * as Ws from "ws";
import type Express from "express";

const require = createRequire(import.meta.url);
let ws: typeof Ws | undefined;
let express: typeof Express | undefined;

export function wsModule(): typeof Ws {
  ws ??= require("ws") as typeof Ws;
  return ws;
}

export function expressModule(): typeof Express {
  express ??= require("express") as typeof Express;
  return express;
}
