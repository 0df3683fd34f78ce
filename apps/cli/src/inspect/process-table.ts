import type { TraceEvent, UwrxTrace } from "./load-trace.js";

/** One exec of a process. */
export interface ExecRecord {
  ts: number;
  argv: string[];
  cwd: string;
  executable: string;
}

/** A process of the recorded tree, built from its events. */
export interface ProcessRecord {
  pid: number;
  ppid: number;
  /** argv of the last exec, or of the parent for a process that never ran exec. */
  argv: string[];
  execs: ExecRecord[];
  exitCode?: number;
  signal?: number;
  /** First and last event time, ns on the trace clock. */
  startNs: number;
  endNs: number;
  children: number[];
}

/** Builds the process table of a trace, ordered by start time. */
export function buildProcessTable(trace: UwrxTrace): ProcessRecord[] {
  const byPid = new Map<number, ProcessRecord>();
  for (const event of trace.events) {
    const record = recordFor(byPid, trace, event);
    record.endNs = Math.max(record.endNs, event.ts);
    if (event.category === "process") applyProcessEvent(record, event);
  }

  const records = [...byPid.values()].sort((a, b) => a.startNs - b.startNs);
  for (const record of records) {
    if (record.argv.length === 0)
      record.argv = byPid.get(record.ppid)?.argv ?? [];
    byPid.get(record.ppid)?.children.push(record.pid);
  }
  return records;
}

function recordFor(
  byPid: Map<number, ProcessRecord>,
  trace: UwrxTrace,
  event: TraceEvent,
): ProcessRecord {
  let record = byPid.get(event.pid);
  if (!record) {
    const info = trace.processes.get(event.pid);
    record = {
      pid: event.pid,
      ppid: info?.ppid ?? 0,
      argv: info?.cmdline ?? [],
      execs: [],
      startNs: event.ts,
      endNs: event.ts,
      children: [],
    };
    byPid.set(event.pid, record);
  }
  return record;
}

function applyProcessEvent(record: ProcessRecord, event: TraceEvent): void {
  const args = event.args;
  if (event.type === "slice_begin" && Array.isArray(args.argv)) {
    const argv = args.argv.map(String);
    record.execs.push({
      ts: event.ts,
      argv,
      cwd: String(args.cwd ?? ""),
      executable: String(args.executable ?? ""),
    });
    record.argv = argv;
  } else if (event.name === "exit") {
    if (typeof args.status === "number") record.exitCode = args.status;
    if (typeof args.signal === "number") record.signal = args.signal;
  }
}

/** Formats how a process ended: its exit status, or the signal's name. */
export function describeExit(record: ProcessRecord): string {
  if (record.signal !== undefined) return `signal ${record.signal}`;
  if (record.exitCode !== undefined) return String(record.exitCode);
  return "?";
}
