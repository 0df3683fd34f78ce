import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";

import {
  attemptChain,
  isOverlayError,
  layersFromAttempt,
  stackFromAttempt,
} from "../src/index.js";
import { makeTemp, removeTemp } from "./helpers.js";

let dir: string;
beforeEach(() => {
  dir = realpathSync(makeTemp());
});
afterEach(() => {
  removeTemp(dir);
});

function makeAttempt(name: string, parents: string[] = []): string {
  const attempt = join(dir, name);
  mkdirSync(join(attempt, "files"), { recursive: true });
  parents.forEach((parent, i) => {
    mkdirSync(join(attempt, "parent"), { recursive: true });
    symlinkSync(join(dir, parent), join(attempt, "parent", String(i + 1)));
  });
  return attempt;
}

function catchError(run: () => unknown): {
  code?: string;
  message: string;
  cause?: unknown;
} {
  try {
    run();
  } catch (error) {
    expect(isOverlayError(error)).toBe(true);
    return error as { code?: string; message: string; cause?: unknown };
  }
  throw new Error("expected an OverlayError");
}

describe("attempts", () => {
  test("parents stack below in order", () => {
    makeAttempt("root");
    makeAttempt("left", ["root"]);
    makeAttempt("right", ["root"]);
    const current = makeAttempt("current", ["left", "right"]);

    expect(attemptChain(current)).toEqual(
      ["root", "left", "right", "current"].map((name) => join(dir, name)),
    );
    expect(layersFromAttempt(current)[0]).toBe(join(dir, "root", "files"));
  });

  test("stack uses base option", () => {
    const current = makeAttempt("current");
    const stack = stackFromAttempt(current, { base: dir });

    expect(stack.roots).toEqual([dir, join(current, "files")]);
  });

  test("parent without files is rejected", () => {
    mkdirSync(join(dir, "not-attempt"));
    const current = makeAttempt("current", ["not-attempt"]);

    const error = catchError(() => attemptChain(current));
    expect(error.code).toBe("NOT_AN_ATTEMPT");
    expect(error.message).toContain(join(current, "parent", "1"));
    expect(error.message).toContain('must contain a "files/" directory');
    expect(error.cause).toBeDefined();
  });

  test("dangling parent link is rejected", () => {
    const current = makeAttempt("current", ["never-created"]);

    expect(catchError(() => attemptChain(current)).code).toBe("NOT_AN_ATTEMPT");
  });

  test("parent cycle is rejected", () => {
    makeAttempt("a", ["b"]);
    makeAttempt("b", ["a"]);
    const current = makeAttempt("current", ["a"]);

    const error = catchError(() => attemptChain(current));
    expect(error.code).toBe("PARENT_CYCLE");
    expect(error.message).toContain(
      `${join(dir, "a")} -> ${join(dir, "b")} -> ${join(dir, "a")}`,
    );
  });

  test("non-numeric parent name is rejected", () => {
    const current = makeAttempt("current");
    mkdirSync(join(current, "parent", "latest"), { recursive: true });

    expect(catchError(() => attemptChain(current)).message).toContain(
      "parent/latest",
    );
  });
});
