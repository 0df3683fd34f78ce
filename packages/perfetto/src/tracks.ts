/**
 * Returns the uuid of process track k, where k is the process's sequence id
 * minus 1 in the uwrx trace format: `k << 32`.
 */
export function processTrackUuid(processIndex: number): bigint {
  return BigInt(processIndex) << 32n;
}

/**
 * Returns the uuid of thread j (1 for the first thread seen) of process k in
 * the uwrx trace format: `(k << 32) + j`.
 */
export function threadTrackUuid(
  processIndex: number,
  threadIndex: number,
): bigint {
  return processTrackUuid(processIndex) + BigInt(threadIndex);
}
