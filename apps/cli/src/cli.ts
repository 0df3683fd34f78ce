import { readFileSync } from "node:fs";

import { exportCommand, EXPORT_HELP } from "./commands/export.js";
import { inspectCommand, INSPECT_HELP } from "./commands/inspect.js";
import { replayCommand, REPLAY_HELP } from "./commands/replay.js";
import { runCommand, RUN_HELP } from "./commands/run.js";
import { isSeccompNativeError } from "@uwrx/seccomp-native";

import { CliError, EXIT_UWRX_FAILURE } from "./errors.js";
import * as log from "./log.js";

const MAIN_HELP = `Usage: uwrx COMMAND [OPTIONS]

uwrx runs a build under a seccomp supervisor and records every process,
exec, file operation and byte of output into a Perfetto trace.

Commands:
  run       run a command under supervision and record a trace
  replay    run a recorded attempt again with its seed and clock start
  inspect   print the processes, files or output of a recorded trace
  export    write the files of a layered attempt into a directory
  help      show help for a command

Run 'uwrx COMMAND --help' for the options of a command.
Options: -h, --help  show this help;  --version  print the version`;

const COMMANDS: Record<
  string,
  { run: (argv: readonly string[]) => Promise<number>; help: string }
> = {
  run: { run: runCommand, help: RUN_HELP },
  inspect: { run: inspectCommand, help: INSPECT_HELP },
  replay: { run: replayCommand, help: REPLAY_HELP },
  export: { run: exportCommand, help: EXPORT_HELP },
};

function version(): string {
  const url = new URL("../package.json", import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help") {
    process.stdout.write(MAIN_HELP + "\n");
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") {
    process.stdout.write(`uwrx ${version()}\n`);
    return 0;
  }
  if (name === "help") {
    const topic = rest[0] ? COMMANDS[rest[0]] : undefined;
    if (rest[0] && !topic) {
      throw new CliError(
        `no help for unknown command '${rest[0]}'; run 'uwrx --help' for the list`,
        2,
      );
    }
    process.stdout.write((topic?.help ?? MAIN_HELP) + "\n");
    return 0;
  }
  if (name.startsWith("-")) {
    throw new CliError(
      `unknown option ${name}; run 'uwrx --help' for usage`,
      2,
    );
  }

  const command = COMMANDS[name];
  if (!command) {
    throw new CliError(
      `unknown command '${name}'; run 'uwrx --help' for the list`,
      2,
    );
  }
  return command.run(rest);
}

// A reader that stops early (`uwrx inspect output T | head`) closes the
// pipe; that ends the output, as it ends `cat`, without a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      log.error(error.message);
      process.exitCode = error.status;
      return;
    }
    if (isSeccompNativeError(error)) {
      log.error(error.message);
      process.exitCode = EXIT_UWRX_FAILURE;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    log.error(`unexpected failure: ${message}`);
    if (process.env.UWRX_DEBUG) console.error(error);
    process.exitCode = EXIT_UWRX_FAILURE;
  },
);
