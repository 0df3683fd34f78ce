import { gunzipSync, unzlibSync, zlibSync } from "fflate";

import { PerfettoError } from "./errors.js";

/**
 * Deflates concatenated `Trace.packet` frames inside a zlib wrapper, the form
 * that `TracePacket.compressed_packets` takes. Level 6 is zlib's default.
 */
export function compressFrames(frames: Uint8Array): Uint8Array {
  return zlibSync(frames, { level: 6 });
}

/**
 * Inflates the payload of `compressed_packets`. Accepts a zlib (RFC 1950) or
 * gzip (RFC 1952) wrapper, as trace_processor does, and rejects raw deflate.
 * `offset` is the position of the packet that carries the payload, for
 * error messages.
 */
export function decompressPackets(
  payload: Uint8Array,
  offset: number,
): Uint8Array {
  const inflate = selectInflater(payload, offset);

  try {
    return inflate(payload);
  } catch (cause) {
    throw new PerfettoError(
      "BAD_COMPRESSION",
      `Perfetto trace is truncated or corrupt: compressed_packets of the packet at byte offset ${offset} do not inflate (${String(cause)})`,
      { cause },
    );
  }
}

function selectInflater(
  payload: Uint8Array,
  offset: number,
): (data: Uint8Array) => Uint8Array {
  if (isGzip(payload)) return gunzipSync;
  if (isZlib(payload)) return unzlibSync;

  throw new PerfettoError(
    "BAD_COMPRESSION",
    `Not a Perfetto trace: compressed_packets of the packet at byte offset ${offset} have neither a zlib nor a gzip header; raw deflate is not accepted`,
  );
}

function isGzip(payload: Uint8Array): boolean {
  return payload[0] === 0x1f && payload[1] === 0x8b;
}

// RFC 1950: the method nibble of CMF is 8 (deflate), its window size at most
// 32 KiB, and CMF * 256 + FLG is a multiple of 31.
function isZlib(payload: Uint8Array): boolean {
  const cmf = payload[0];
  const flg = payload[1];
  if (cmf === undefined || flg === undefined) return false;

  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && (cmf * 256 + flg) % 31 === 0;
}
