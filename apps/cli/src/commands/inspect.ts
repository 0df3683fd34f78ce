import { hasFlag, optionValue, parseArgs, type OptionSpec } from "../args.js";
import { usageError } from "../errors.js";
import * as log from "../log.js";
import { collectOutput, type OutputChunk } from "../inspect/captured-output.js";
import { collectChance, type ChanceReads } from "../inspect/chance.js";
import { collectFileAccess, type FileAccess } from "../inspect/file-access.js";
import { loadTrace } from "../inspect/load-trace.js";
import {
  buildProcessTable,
  describeExit,
  type ProcessRecord,
} from "../inspect/process-table.js";

export const INSPECT_HELP = `Usage: uwrx inspect VIEW TRACE [OPTIONS]

Prints what a recorded run did. TRACE is a trace directory (its most recent
step's last attempt), a step directory (its last attempt), an attempt
directory or a perfetto file.

Views:
  procs    the process tree: pid, exit status, duration and command line
  files    per process, the files read, written, looked for and not found,
           probed, created, removed and renamed
  output   the captured stdout and stderr bytes, written back to stdout and
           stderr in the order uwrx saw the writes
  chance   per process, where it read randomness or time: getrandom calls
           and bytes, /dev/urandom opens, AT_RANDOM bytes, clock reads

Options:
  --json             print JSON instead of text
  --pid PID          only this process (files, output), or its subtree (procs)
  --stream NAME      output: only stdout or only stderr
  --all              output: also writes to fd 1 and 2 that did not reach
                     uwrx's own stdout and stderr (pipes between processes)
  -h, --help         show this help`;

const INSPECT_OPTIONS: readonly OptionSpec[] = [
  { name: "json" },
  { name: "pid", takesValue: true },
  { name: "stream", takesValue: true },
  { name: "all" },
  { name: "help", short: "h" },
];

const VIEWS = ["procs", "files", "output", "chance"] as const;
type View = (typeof VIEWS)[number];

/** Runs `uwrx inspect` and returns the exit status. */
export async function inspectCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs("inspect", argv, INSPECT_OPTIONS);
  if (hasFlag(parsed, "help")) {
    process.stdout.write(INSPECT_HELP + "\n");
    return 0;
  }

  const [view, path, ...extra] = parsed.positionals;
  if (!view) {
    throw usageError(
      "inspect",
      `missing VIEW: expected one of ${VIEWS.join(", ")}`,
    );
  }
  if (!(VIEWS as readonly string[]).includes(view)) {
    throw usageError(
      "inspect",
      `unknown view '${view}': expected one of ${VIEWS.join(", ")}`,
    );
  }
  if (!path) {
    throw usageError(
      "inspect",
      "missing TRACE: give a trace directory, attempt directory or perfetto file",
    );
  }
  if (extra.length > 0) {
    throw usageError("inspect", `unexpected argument '${extra[0]}'`);
  }

  const filters = readFilters(parsed);
  const trace = await loadTrace(path);
  const json = hasFlag(parsed, "json");

  const records = buildProcessTable(trace);
  if (
    filters.pid !== undefined &&
    !records.some((r) => r.pid === filters.pid)
  ) {
    log.warn(`process ${filters.pid} does not appear in trace ${trace.path}`);
  }

  switch (view as View) {
    case "procs":
      printProcs(selectSubtree(records, filters.pid), json);
      break;
    case "files":
      printFiles(
        buildProcessTable(trace),
        collectFileAccess(trace),
        filters.pid,
        json,
      );
      break;
    case "chance":
      printChance(records, collectChance(trace), filters.pid, json);
      break;
    case "output":
      printOutput(collectOutput(trace), filters, json);
      break;
  }
  return 0;
}

interface Filters {
  pid?: number;
  stream?: "stdout" | "stderr";
  all: boolean;
}

function readFilters(parsed: ReturnType<typeof parseArgs>): Filters {
  const pidText = optionValue(parsed, "pid");
  const pid = pidText === undefined ? undefined : Number(pidText);
  if (pid !== undefined && !(Number.isInteger(pid) && pid > 0)) {
    throw usageError(
      "inspect",
      `invalid --pid '${pidText}': expected a process id`,
    );
  }
  const stream = optionValue(parsed, "stream");
  if (stream !== undefined && stream !== "stdout" && stream !== "stderr") {
    throw usageError(
      "inspect",
      `invalid --stream '${stream}': expected stdout or stderr`,
    );
  }
  return { pid, stream, all: hasFlag(parsed, "all") };
}

/** The process `pid` and its descendants, or every process without a pid. */
function selectSubtree(
  records: ProcessRecord[],
  pid: number | undefined,
): ProcessRecord[] {
  if (pid === undefined) return records;
  const byPid = new Map(records.map((r) => [r.pid, r]));
  const selected = new Set<number>();
  const visit = (current: number) => {
    if (selected.has(current) || !byPid.has(current)) return;
    selected.add(current);
    byPid.get(current)!.children.forEach(visit);
  };
  visit(pid);
  return records.filter((r) => selected.has(r.pid));
}

/** Quotes an argument the way a POSIX shell would need it, when it must. */
function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, "'\\''").replace(/\n/g, "'$'\\n''")}'`;
}

function printProcs(records: ProcessRecord[], json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(records, null, 2) + "\n");
    return;
  }
  const byPid = new Map(records.map((r) => [r.pid, r]));
  const roots = records.filter((r) => !byPid.has(r.ppid));
  const lines = ["PID\tSTATUS\tTIME\tCOMMAND"];
  const visit = (record: ProcessRecord, depth: number) => {
    const seconds = ((record.endNs - record.startNs) / 1e9).toFixed(3);
    const command =
      "  ".repeat(Math.min(depth, 20)) + record.argv.map(shellQuote).join(" ");
    lines.push(
      `${record.pid}\t${describeExit(record)}\t${seconds}s\t${command}`,
    );
    for (const child of record.children) visit(byPid.get(child)!, depth + 1);
  };
  roots.forEach((root) => visit(root, 0));
  process.stdout.write(lines.join("\n") + "\n");
}

function printFiles(
  records: ProcessRecord[],
  accesses: FileAccess[],
  pid: number | undefined,
  json: boolean,
): void {
  const selected = accesses.filter((a) => pid === undefined || a.pid === pid);
  const argvOf = new Map(records.map((r) => [r.pid, r.argv]));
  if (json) {
    const rows = selected.map((a) => ({ ...a, argv: argvOf.get(a.pid) ?? [] }));
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    return;
  }

  const lines: string[] = [];
  for (const access of selected) {
    lines.push(`${access.pid} ${(argvOf.get(access.pid) ?? []).join(" ")}`);
    const group = (tag: string, paths: string[]) =>
      paths.forEach((path) => lines.push(`  ${tag} ${path}`));
    group("read     ", access.read);
    group("written  ", access.written);
    group("missing  ", access.missing);
    group("probed   ", access.probed);
    group("created  ", access.created);
    group("removed  ", access.removed);
    access.renamed.forEach(({ from, to }) =>
      lines.push(`  renamed   ${from} -> ${to}`),
    );
    group("failed   ", access.failed);
  }
  process.stdout.write(lines.join("\n") + (lines.length ? "\n" : ""));
}

function printOutput(
  chunks: OutputChunk[],
  filters: Filters,
  json: boolean,
): void {
  const selected = chunks.filter(
    (c) =>
      (filters.all || c.terminal) &&
      (filters.pid === undefined || c.pid === filters.pid) &&
      (filters.stream === undefined || c.stream === filters.stream),
  );
  if (json) {
    const rows = selected.map(({ data, ...rest }) => ({
      ...rest,
      text: data.toString("utf8"),
      base64: data.toString("base64"),
    }));
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    return;
  }
  for (const chunk of selected) {
    (chunk.stream === "stderr" ? process.stderr : process.stdout).write(
      chunk.data,
    );
  }
  const uncaptured = selected.filter((c) => c.sentBy !== undefined);
  if (uncaptured.length > 0) {
    const calls = [...new Set(uncaptured.map((c) => c.sentBy))].join(", ");
    log.warn(
      `output that went out through ${calls} (${uncaptured.length} calls) was not captured; only its writes through write and writev are above`,
    );
  }
}

function printChance(
  records: ProcessRecord[],
  reads: ChanceReads[],
  pid: number | undefined,
  json: boolean,
): void {
  const selected = reads.filter((r) => pid === undefined || r.pid === pid);
  const argvOf = new Map(records.map((r) => [r.pid, r.argv]));
  if (json) {
    const rows = selected.map((r) => ({ ...r, argv: argvOf.get(r.pid) ?? [] }));
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    return;
  }
  const lines = ["PID\tGETRANDOM\tURANDOM\tAT_RANDOM\tCLOCK\tCOMMAND"];
  for (const r of selected) {
    const command = (argvOf.get(r.pid) ?? []).map(shellQuote).join(" ");
    lines.push(
      `${r.pid}\t${r.getrandomCalls} (${r.getrandomBytes} B)\t${r.urandomOpens.length}\t${r.atRandom.length}\t${r.timeReads}\t${command}`,
    );
  }
  process.stdout.write(lines.join("\n") + "\n");
}
