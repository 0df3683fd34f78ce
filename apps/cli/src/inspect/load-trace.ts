import { readFile } from "node:fs/promises";

import { isPerfettoError, readTrace } from "@uwrx/perfetto";

import { CliError } from "../errors.js";
import * as log from "../log.js";
import { resolveTracePath } from "../trace-dir.js";

/** A track event of a uwrx trace, in the shape the inspect views use. */
export interface TraceEvent {
  /** Nanoseconds on the trace clock (CLOCK_BOOTTIME). */
  ts: number;
  pid: number;
  tid: number;
  type: string;
  name: string;
  category: string;
  args: Record<string, unknown>;
}

/** The parts of a trace that the inspect views read. */
export interface UwrxTrace {
  path: string;
  events: TraceEvent[];
  processes: Map<number, { ppid: number; cmdline: string[] }>;
}

/**
 * Finds and reads the trace that `path` names. A malformed file becomes
 * a one-line error that names it.
 */
export async function loadTrace(path: string): Promise<UwrxTrace> {
  const file = await resolveTracePath(path);
  const bytes = await readFile(file);

  let model: ReturnType<typeof readTrace>;
  try {
    model = readTrace(bytes);
  } catch (cause) {
    if (!isPerfettoError(cause)) throw cause;
    throw new CliError(
      `cannot read trace ${file}: ${cause.message}; it is damaged or not a Perfetto trace written by 'uwrx run'`,
      125,
      { cause },
    );
  }

  const events: TraceEvent[] = [];
  for (const event of model.events) {
    if (event.pid === undefined) continue;
    events.push({
      ts: Number(event.ts),
      pid: event.pid,
      tid: event.tid ?? event.pid,
      type: event.type,
      name: event.name ?? "",
      category: event.category ?? "",
      args: event.args as Record<string, unknown>,
    });
  }

  const processes = new Map<number, { ppid: number; cmdline: string[] }>();
  for (const [pid, info] of model.processes) {
    processes.set(pid, { ppid: info.ppid ?? 0, cmdline: info.cmdline });
  }
  if (events.length === 0) {
    log.warn(
      `trace ${file} holds no uwrx process events; it was not written by 'uwrx run' or its run recorded nothing`,
    );
  }
  return { path: file, events, processes };
}
