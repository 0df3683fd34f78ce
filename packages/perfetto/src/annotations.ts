import { create, type MessageInitShape } from "@bufbuild/protobuf";

import {
  DebugAnnotationSchema,
  type DebugAnnotation,
} from "./gen/perfetto/protos/debug_annotation_pb.js";

/**
 * A debug annotation value in JavaScript form. Arrays become
 * `array_values` and plain objects `dict_entries`.
 */
export type AnnotationValue =
  | string
  | number
  | bigint
  | boolean
  | readonly AnnotationValue[]
  | { readonly [key: string]: AnnotationValue };

/** Debug annotations of one event, by annotation name. */
export type Annotations = Readonly<Record<string, AnnotationValue>>;

type AnnotationInit = MessageInitShape<typeof DebugAnnotationSchema>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Builds the value part of a DebugAnnotation: one of the scalar fields, or
 * array_values or dict_entries. Dict entries carry their key in `name`,
 * because interned names are only defined for top-level annotations here.
 */
export function encodeAnnotationValue(value: AnnotationValue): AnnotationInit {
  if (typeof value === "string") return scalar("stringValue", value);
  if (typeof value === "boolean") return scalar("boolValue", value);
  if (typeof value === "number") return encodeNumber(value);
  if (typeof value === "bigint") return encodeBigint(value);
  // NOTE: an empty array or object encodes as an annotation without any
  // value, which readers (this one and trace_processor) cannot tell apart
  // from a missing value, so it does not survive a round trip.
  if (Array.isArray(value)) {
    return { arrayValues: value.map(encodeAnnotationValue) };
  }

  return { dictEntries: encodeDict(value as Annotations) };
}

function encodeDict(value: Annotations): AnnotationInit[] {
  return Object.entries(value).map(([key, entry]) => ({
    ...encodeAnnotationValue(entry),
    nameField: { case: "name", value: key },
  }));
}

// Safe integers go to int_value so that negative numbers keep their sign, and
// everything else (fractions, NaN, huge values) to double_value.
function encodeNumber(value: number): AnnotationInit {
  if (Number.isSafeInteger(value)) return scalar("intValue", BigInt(value));
  return scalar("doubleValue", value);
}

function encodeBigint(value: bigint): AnnotationInit {
  if (value >= INT64_MIN && value <= INT64_MAX) {
    return scalar("intValue", value);
  }
  if (value > INT64_MAX && value <= UINT64_MAX) {
    return scalar("uintValue", value);
  }
  return scalar("stringValue", value.toString());
}

type ScalarCase =
  "stringValue" | "boolValue" | "intValue" | "uintValue" | "doubleValue";

function scalar<K extends ScalarCase>(
  kind: K,
  value: Extract<DebugAnnotation["value"], { case: K }>["value"],
): AnnotationInit {
  return { value: { case: kind, value } } as AnnotationInit;
}

/** Looks up an interned debug annotation string value by iid. */
export type StringLookup = (iid: bigint) => string | undefined;

/**
 * Converts a DebugAnnotation's value to JavaScript. 64-bit integers become
 * numbers when they are safe integers and bigints otherwise. Returns
 * undefined for an annotation without a value or with an unknown string iid.
 */
export function decodeAnnotationValue(
  annotation: DebugAnnotation,
  lookupString: StringLookup,
): AnnotationValue | undefined {
  if (annotation.arrayValues.length > 0) {
    return annotation.arrayValues
      .map((item) => decodeAnnotationValue(item, lookupString))
      .filter((item): item is AnnotationValue => item !== undefined);
  }
  if (annotation.dictEntries.length > 0) {
    return decodeDict(annotation.dictEntries, lookupString);
  }

  return decodeScalar(annotation.value, lookupString);
}

function decodeDict(
  entries: DebugAnnotation[],
  lookupString: StringLookup,
): Record<string, AnnotationValue> {
  const dict: Record<string, AnnotationValue> = {};
  for (const entry of entries) {
    const key = entry.nameField.case === "name" ? entry.nameField.value : "";
    const value = decodeAnnotationValue(entry, lookupString);
    if (value !== undefined) dict[key] = value;
  }
  return dict;
}

function decodeScalar(
  value: DebugAnnotation["value"],
  lookupString: StringLookup,
): AnnotationValue | undefined {
  switch (value.case) {
    case "intValue":
    case "uintValue":
      return toNumberIfSafe(value.value);
    case "stringValueIid":
      return lookupString(value.value);
    case undefined:
      return undefined;
    default:
      return value.value;
  }
}

function toNumberIfSafe(value: bigint): number | bigint {
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : value;
}

/** Creates a DebugAnnotation message with an interned name. */
export function createAnnotation(
  nameIid: bigint,
  value: AnnotationValue,
): DebugAnnotation {
  return create(DebugAnnotationSchema, {
    ...encodeAnnotationValue(value),
    nameField: { case: "nameIid", value: nameIid },
  });
}
