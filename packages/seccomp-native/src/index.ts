export { createBufferDir, removeBufferDir } from "./buffer-dir.js";
export {
  CoreMessageDecoder,
  encodeHostMessage,
  MAX_CONTROL_MESSAGE_BYTES,
} from "./control-channel.js";
export {
  isSeccompNativeError,
  SeccompNativeError,
  type SeccompNativeErrorCode,
} from "./errors.js";
export { corePackageName, locateCore, locateShim } from "./locate-core.js";
export {
  DEFAULT_TIME_STEP_NS,
  startSupervised,
  type Determinism,
  type LayerOptions,
  SupervisedRun,
  type RunResult,
  type SupervisedRunEvents,
  type SuperviseOptions,
} from "./supervise.js";
export type {
  CoreMessage,
  Exec,
  Finished,
  HostMessage,
  ProcessExited,
  ProcessStarted,
  Started,
} from "./gen/uwrx/core/v1/control_pb.js";
export {
  CoreMessageSchema,
  HostMessageSchema,
} from "./gen/uwrx/core/v1/control_pb.js";
