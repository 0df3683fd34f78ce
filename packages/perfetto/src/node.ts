export {
  BufferCollector,
  DEFAULT_BUFFER_COLLECTOR_OPTIONS,
  mergeBufferDir,
  type BufferCollectorOptions,
  type CollectorSummary,
  type IncompleteTail,
  type PollResult,
} from "./node/collector.js";
