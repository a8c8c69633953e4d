// The generated schema of the built-in kinds (wire-types.gen.ts) compiled once for the walks over every written
// object: typed decoding's checks and quantity canonicalization (wire-types.ts) and unknown fields
// (unknown-fields.ts). The generated schema names each type by a string ("[]V1Container", "int32"); a walk that read
// those prefixes and looked names up per value would pay for it on every field of every body.
import { WIRE_MODELS } from "./wire-types.gen.js";

/** A schema type compiled: its shape, its list or map item, a model's fields. */
export interface SchemaType {
  /** The schema's name of the type ("int32", "[]V1Container", "V1PodSpec"), which messages quote. */
  readonly type: string;
  readonly shape: Shape;
  /** The item type of a list or map. */
  readonly item: SchemaType | undefined;
  /** A model's fields by JSON name (undefined until first walked; other shapes have none). */
  fields: Map<string, SchemaType> | undefined;
  /** Whether a value of this type can hold a quantity at any depth: canonicalization skips the rest. */
  readonly mayHoldQuantity: boolean;
}

/** SchemaType.shape: "any", a list, a map, one of the scalars, a model, or a name the schema does not define. */
export const ANY = 0;
export const LIST = 1;
export const MAP = 2;
export const STRING = 3;
export const BOOLEAN = 4;
export const NUMBER = 5;
export const INT32 = 6;
export const INT64 = 7;
export const INT_OR_STRING = 8;
export const QUANTITY = 9;
export const TIME = 10;
export const MODEL = 11;
export const UNDEFINED_TYPE = 12;
export type Shape = typeof ANY | typeof LIST | typeof MAP | typeof STRING | typeof BOOLEAN | typeof NUMBER | typeof INT32 | typeof INT64 | typeof INT_OR_STRING | typeof QUANTITY | typeof TIME | typeof MODEL | typeof UNDEFINED_TYPE;

const SCALAR_SHAPES: Readonly<Record<string, Shape>> = {
  any: ANY,
  string: STRING,
  boolean: BOOLEAN,
  number: NUMBER,
  int32: INT32,
  int64: INT64,
  intorstring: INT_OR_STRING,
  quantity: QUANTITY,
  time: TIME,
};

/** The compiled types by schema name; the schema's types are finitely many. */
const schemaTypes = new Map<string, SchemaType>();

/** `type` compiled, on first use; models refer to each other (in cycles too), so their fields wait for modelFields. */
export function schemaType(type: string): SchemaType {
  let compiled = schemaTypes.get(type);
  if (compiled === undefined) {
    const container = type.startsWith("[]") ? LIST : type.startsWith("{}") ? MAP : undefined;
    const shape: Shape = container ?? (Object.hasOwn(SCALAR_SHAPES, type) ? SCALAR_SHAPES[type]! : Object.hasOwn(WIRE_MODELS, type) ? MODEL : UNDEFINED_TYPE);
    compiled = { type, shape, item: container === undefined ? undefined : schemaType(type.slice(2)), fields: undefined, mayHoldQuantity: mayHoldQuantity(type) };
    schemaTypes.set(type, compiled);
  }
  return compiled;
}

/** A model's fields, compiled. */
export function modelFields(model: SchemaType): Map<string, SchemaType> {
  if (model.fields === undefined) {
    const fields = new Map<string, SchemaType>();
    model.fields = fields;
    for (const [name, type] of Object.entries(WIRE_MODELS[model.type] ?? {})) fields.set(name, schemaType(type));
  }
  return model.fields;
}

/** `type` is a quantity, or a model of quantityModels(), or a list or map of such, at any depth of lists and maps. */
function mayHoldQuantity(type: string): boolean {
  return holdsQuantity(type, quantityModels());
}

function holdsQuantity(type: string, models: ReadonlySet<string>): boolean {
  let base = type;
  while (base.startsWith("[]") || base.startsWith("{}")) base = base.slice(2);
  return base === "quantity" || models.has(base);
}

let quantityModelNames: ReadonlySet<string> | undefined;

/**
 * The models with a field that can hold a quantity, at any depth. Models refer to each other, in cycles too
 * (JSONSchemaProps), so the set grows until no model joins it.
 */
function quantityModels(): ReadonlySet<string> {
  if (quantityModelNames !== undefined) return quantityModelNames;
  const models = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const [model, fields] of Object.entries(WIRE_MODELS)) {
      if (models.has(model) || !Object.values(fields).some((field) => holdsQuantity(field, models))) continue;
      models.add(model);
      grew = true;
    }
  }
  quantityModelNames = models;
  return models;
}
