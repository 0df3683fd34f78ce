import type { UwrxTrace } from "./load-trace.js";

/** Reads of randomness and time by one process, which the core made deterministic. */
export interface ChanceReads {
  pid: number;
  /** getrandom calls and the bytes they returned. */
  getrandomCalls: number;
  getrandomBytes: number;
  /** Opens of /dev/urandom or /dev/random. */
  urandomOpens: string[];
  /** AT_RANDOM bytes given at each exec, hex. */
  atRandom: string[];
  /** Clock reads that the core served (time, gettimeofday, clock_gettime). */
  timeReads: number;
}

/** Collects the randomness and time reads of each process of a trace. */
export function collectChance(trace: UwrxTrace): ChanceReads[] {
  const byPid = new Map<number, ChanceReads>();
  const entry = (pid: number): ChanceReads => {
    let reads = byPid.get(pid);
    if (!reads) {
      reads = {
        pid,
        getrandomCalls: 0,
        getrandomBytes: 0,
        urandomOpens: [],
        atRandom: [],
        timeReads: 0,
      };
      byPid.set(pid, reads);
    }
    return reads;
  };

  for (const event of trace.events) {
    const args = event.args;
    if (event.category === "random" && event.name === "getrandom") {
      const reads = entry(event.pid);
      reads.getrandomCalls++;
      reads.getrandomBytes += Number(args.bytes ?? 0);
    } else if (event.category === "random" && event.name === "urandom") {
      entry(event.pid).urandomOpens.push(String(args.path ?? ""));
    } else if (event.category === "random" && event.name === "at_random") {
      entry(event.pid).atRandom.push(String(args.data ?? ""));
    } else if (event.name === "exit" && typeof args.time_reads === "number") {
      entry(event.pid).timeReads += args.time_reads;
    }
  }
  return [...byPid.values()];
}
