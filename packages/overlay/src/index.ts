export {
  attemptChain,
  layersFromAttempt,
  stackFromAttempt,
  type AttemptStackOptions,
} from "./attempts.js";
export { isWhiteout, type EntryType } from "./entry-type.js";
export {
  OverlayError,
  isOverlayError,
  type OverlayErrorCode,
} from "./errors.js";
export {
  exportMerged,
  type ExportOptions,
  type ExportSummary,
} from "./export.js";
export { fnv1a64, hashPath } from "./hash.js";
export {
  INDEX_FLAG_OPAQUE,
  INDEX_HEADER_BYTES,
  INDEX_LAYER_BYTES,
  INDEX_MAGIC,
  INDEX_SLOT_BYTES,
  INDEX_TYPE_CODES,
  INDEX_VERSION,
  OverlayIndex,
  collectIndexEntries,
  encodeIndex,
  readIndex,
  slotCountFor,
  writeIndex,
  type IndexEntry,
  type IndexEntryType,
  type IndexLayer,
} from "./index-file.js";
export {
  DEFAULT_LAYER_STACK_OPTIONS,
  LayerStack,
  MAX_SYMLINKS,
  type LayerStackOptions,
  type MergedEntry,
  type MergedStat,
  type Resolution,
  type ResolveOptions,
} from "./layer-stack.js";
export type { MergedDirectory } from "./lookup.js";
