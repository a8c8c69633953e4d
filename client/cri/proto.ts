// proto/cri.proto loaded at run time with protobufjs (no generated code), and the gRPC method table both ends use:
// the runtime daemon serves these definitions and the kubelet's client calls through them, so the two cannot
// disagree on a path or a message. Decoded messages are plain objects in the shape wire.ts reads.
import type { MethodDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";
import type { WireObject } from "./wire.js";
import { protoFilePath } from "../../proto/locate.js";

export const CRI_PACKAGE = "runtime.v1";
export type CriServiceName = "RuntimeService" | "ImageService";

/** How decoded messages look: camelCase fields, enum names, int64 as decimal strings, zero values filled in. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, objects: true };

export type CriMethodDefinition = MethodDefinition<WireObject, WireObject>;

interface Schema {
  root: protobuf.Root;
  services: Record<CriServiceName, Record<string, CriMethodDefinition>>;
}

let cached: Schema | undefined;

/** Where proto/cri.proto is (KUBELAB_PROTO_DIR overrides). */
export function resolveCriProtoPath(): string {
  return protoFilePath("cri.proto");
}

function loadSchema(): Schema {
  if (cached !== undefined) return cached;
  const root = new protobuf.Root();
  root.loadSync(resolveCriProtoPath(), { keepCase: false });
  root.resolveAll();
  cached = { root, services: { RuntimeService: methodsOf(root, "RuntimeService"), ImageService: methodsOf(root, "ImageService") } };
  return cached;
}

function methodsOf(root: protobuf.Root, service: CriServiceName): Record<string, CriMethodDefinition> {
  const definition = root.lookupService(`${CRI_PACKAGE}.${service}`);
  const methods: Record<string, CriMethodDefinition> = {};
  for (const method of definition.methodsArray) {
    const request = root.lookupType(method.requestType);
    const response = root.lookupType(method.responseType);
    methods[method.name] = {
      path: `/${CRI_PACKAGE}.${service}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      originalName: method.name,
    };
  }
  return methods;
}

function serializer(type: protobuf.Type): (value: WireObject) => Buffer {
  return (value) => Buffer.from(type.encode(type.fromObject(value)).finish());
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => WireObject {
  return (bytes) => type.toObject(type.decode(bytes), TO_OBJECT);
}

/** The gRPC method definitions of one CRI service, keyed by method name ("RunPodSandbox"). */
export function criService(service: CriServiceName): Record<string, CriMethodDefinition> {
  return loadSchema().services[service];
}

/** One method's definition; throws for a name cri.proto does not declare. */
export function criMethod(service: CriServiceName, name: string): CriMethodDefinition {
  const method = criService(service)[name];
  if (method === undefined) throw new Error(`${CRI_PACKAGE}.${service} has no method ${name}`);
  return method;
}

/** The loaded protobufjs root (package runtime.v1), for tests that encode messages by hand. */
export function criSchema(): protobuf.Root {
  return loadSchema().root;
}

/** A message through protobuf bytes and back, as a peer would see it: what the tests of wire.ts use. */
export function roundTrip(typeName: string, value: WireObject): WireObject {
  const type = loadSchema().root.lookupType(`${CRI_PACKAGE}.${typeName}`);
  return deserializer(type)(serializer(type)(value));
}
