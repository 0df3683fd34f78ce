import { readFileSync } from "node:fs";

/**
 * Node decodes its arguments and environment as UTF-8 and turns invalid
 * bytes into U+FFFD, so a command line with such bytes would reach the
 * supervised command changed. The kernel's copies in /proc/self keep the
 * exact bytes.
 */

/** Splits NUL-terminated strings. */
function splitNulTerminated(bytes: Buffer): Buffer[] {
  const items: Buffer[] = [];
  let start = 0;
  for (
    let end = bytes.indexOf(0, start);
    end >= 0;
    end = bytes.indexOf(0, start)
  ) {
    items.push(bytes.subarray(start, end));
    start = end + 1;
  }
  return items;
}

/**
 * Returns the exact bytes of the last `args.length` arguments of this
 * process, or undefined when /proc/self/cmdline cannot be read or does not
 * line up with `args`.
 */
export function rawArgumentTail(args: readonly string[]): Buffer[] | undefined {
  let items: Buffer[];
  try {
    items = splitNulTerminated(readFileSync("/proc/self/cmdline"));
  } catch {
    return undefined;
  }
  const tail = items.slice(items.length - args.length);
  if (tail.length !== args.length) return undefined;
  const aligned = tail.every((raw, i) => raw.toString("utf8") === args[i]);
  return aligned ? tail : undefined;
}

/** Returns the exact bytes of this process's initial environment. */
export function rawEnvironment(): Buffer[] | undefined {
  try {
    return splitNulTerminated(readFileSync("/proc/self/environ"));
  } catch {
    return undefined;
  }
}
