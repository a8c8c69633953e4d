// Packages the apiserver needs only for some requests, loaded on the first of them instead of at start (each costs
// tens of ms and a few MB to load): express serves only the non-resource endpoints other than the health checks,
// ws only WebSocket upgrades, protobufjs only protobuf bodies and the protobuf OpenAPI document. Loaded synchronously (their Node entries are CommonJS), so callers stay synchronous.
import { createRequire } from "node:module";
import type * as Ws from "ws";
import type Express from "express";
import type Protobuf from "protobufjs";

const require = createRequire(import.meta.url);
let ws: typeof Ws | undefined;
let express: typeof Express | undefined;
let protobuf: typeof Protobuf | undefined;

export function wsModule(): typeof Ws {
  ws ??= require("ws") as typeof Ws;
  return ws;
}

export function expressModule(): typeof Express {
  express ??= require("express") as typeof Express;
  return express;
}

export function protobufModule(): typeof Protobuf {
  protobuf ??= require("protobufjs") as typeof Protobuf;
  return protobuf;
}
