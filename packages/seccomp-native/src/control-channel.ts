import { create, fromBinary, toBinary } from "@bufbuild/protobuf";

import { SeccompNativeError } from "./errors.js";
import {
  CoreMessageSchema,
  HostMessageSchema,
  type CoreMessage,
  type HostMessage,
} from "./gen/uwrx/core/v1/control_pb.js";

/** Largest control message accepted, a guard against a corrupt stream. */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Splits the core's byte stream into messages. Each message is a 4-byte
 * little-endian length followed by an encoded CoreMessage.
 */
export class CoreMessageDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Appends bytes and returns every message they complete. */
  push(chunk: Buffer): CoreMessage[] {
    this.pending =
      this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: CoreMessage[] = [];

    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32LE(0);
      if (length > MAX_CONTROL_MESSAGE_BYTES) {
        throw new SeccompNativeError(
          "PROTOCOL",
          `the syscall core sent a control message of ${length} bytes, more than the ${MAX_CONTROL_MESSAGE_BYTES} allowed; the core and this package are probably of different versions`,
        );
      }
      if (this.pending.length < 4 + length) {
        break;
      }
      const body = this.pending.subarray(4, 4 + length);
      messages.push(fromBinary(CoreMessageSchema, body));
      this.pending = this.pending.subarray(4 + length);
    }

    return messages;
  }

  /** Number of bytes of an incomplete message still held. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}

/** Encodes a host message with its length prefix. */
export function encodeHostMessage(message: HostMessage["message"]): Buffer {
  const body = toBinary(
    HostMessageSchema,
    create(HostMessageSchema, { message }),
  );
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  frame.set(body, 4);
  return frame;
}
