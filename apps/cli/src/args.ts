import { usageError } from "./errors.js";

/** One option of a command: a flag, or an option that takes a value. */
export interface OptionSpec {
  name: string;
  short?: string;
  takesValue?: boolean;
  repeatable?: boolean;
}

/** Parsed options and the positional arguments that follow them. */
export interface ParsedArgs {
  options: Map<string, string[]>;
  positionals: string[];
}

/**
 * Parses `--name value`, `--name=value`, `-x` and flags. Parsing stops at
 * `--` or, when `stopAtPositional` is set, at the first positional, so
 * that `uwrx run make -j2` passes `-j2` to make.
 */
export function parseArgs(
  command: string,
  argv: readonly string[],
  specs: readonly OptionSpec[],
  stopAtPositional = false,
): ParsedArgs {
  const options = new Map<string, string[]>();
  const positionals: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (stopAtPositional) {
        positionals.push(...argv.slice(i));
        break;
      }
      positionals.push(arg);
      continue;
    }

    const { spec, inline } = findSpec(command, arg, specs);
    let value = "true";
    if (spec.takesValue) {
      value = inline ?? argv[++i] ?? "";
      if ((inline === undefined && i >= argv.length) || value === "--") {
        throw usageError(command, `option --${spec.name} requires a value`);
      }
      if (value === "") {
        throw usageError(
          command,
          `option --${spec.name} requires a non-empty value`,
        );
      }
    } else if (inline !== undefined) {
      throw usageError(command, `option --${spec.name} takes no value`);
    }
    const values = options.get(spec.name) ?? [];
    if (values.length > 0 && !spec.repeatable) {
      throw usageError(command, `option --${spec.name} is given twice`);
    }
    options.set(spec.name, [...values, value]);
  }

  return { options, positionals };
}

function findSpec(
  command: string,
  arg: string,
  specs: readonly OptionSpec[],
): { spec: OptionSpec; inline: string | undefined } {
  const long = arg.startsWith("--");
  const body = long ? arg.slice(2) : arg.slice(1);
  const eq = long ? body.indexOf("=") : -1;
  const name = eq >= 0 ? body.slice(0, eq) : body;
  const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
  const spec = specs.find((s) => (long ? s.name === name : s.short === name));
  if (!spec) {
    throw usageError(command, `unknown option ${arg}`);
  }
  return { spec, inline };
}

/** Returns the last value of an option, or undefined. */
export function optionValue(
  parsed: ParsedArgs,
  name: string,
): string | undefined {
  return parsed.options.get(name)?.at(-1);
}

/** Tells whether a flag was given. */
export function hasFlag(parsed: ParsedArgs, name: string): boolean {
  return parsed.options.has(name);
}
