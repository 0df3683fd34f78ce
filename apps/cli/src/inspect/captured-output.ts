import type { UwrxTrace } from "./load-trace.js";

/** One write to stdout or stderr. */
export interface OutputChunk {
  ts: number;
  pid: number;
  tid: number;
  stream: "stdout" | "stderr";
  fd: number;
  /** True when the write went to the same file as uwrx's own stdout or stderr. */
  terminal: boolean;
  data: Buffer;
  /**
   * Set when the bytes went out through sendfile, splice or
   * copy_file_range, which the core does not capture: the syscall's name.
   * `data` is then empty and `bytes` is the length the call requested,
   * which can be far more than was sent.
   */
  sentBy?: string;
  bytes: number;
}

/** Lists the captured writes to stdout and stderr in the order written. */
export function collectOutput(trace: UwrxTrace): OutputChunk[] {
  const chunks: OutputChunk[] = [];
  for (const event of trace.events) {
    if (event.category !== "output") continue;
    const args = event.args;
    const data =
      typeof args.data_base64 === "string"
        ? Buffer.from(args.data_base64, "base64")
        : Buffer.from(String(args.data ?? ""), "utf8");
    chunks.push({
      ts: event.ts,
      pid: event.pid,
      tid: event.tid,
      stream: event.name === "stderr" ? "stderr" : "stdout",
      fd: Number(args.fd ?? (event.name === "stderr" ? 2 : 1)),
      terminal: args.terminal === true,
      data,
      sentBy: typeof args.sent_by === "string" ? args.sent_by : undefined,
      bytes:
        typeof args.sent_by === "string"
          ? Number(args.bytes ?? 0)
          : data.length,
    });
  }
  return chunks;
}
