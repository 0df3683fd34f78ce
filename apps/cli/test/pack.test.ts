// Packs the CLI and the core's platform package as npm would publish them,
// installs the tarballs offline into an empty project, and runs the
// installed uwrx with a PATH that has no compiler on it.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { makeTempDir, repoRoot } from "./support/uwrx.js";

const PACK_TIMEOUT_MS = 120_000;
const pnpm = join(repoRoot, "node_modules/.bin/pnpm");
const arch = process.arch === "arm64" ? "arm64" : "x64";

function which(program: string): string {
  return execFileSync("sh", ["-c", `command -v ${program}`], {
    encoding: "utf8",
  }).trim();
}

test(
  "packed CLI installs and runs without gcc",
  () => {
    const tarballs = makeTempDir("tarballs");
    for (const dir of [
      "apps/cli",
      `packages/seccomp-native/npm/linux-${arch}`,
    ]) {
      execFileSync(pnpm, ["pack", "--pack-destination", tarballs], {
        cwd: join(repoRoot, dir),
        stdio: "ignore",
      });
    }
    const project = makeTempDir("install");
    writeFileSync(
      join(project, "package.json"),
      '{ "name": "try-uwrx", "private": true }\n',
    );
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    execFileSync(
      "npm",
      ["install", "--offline", "--no-audit", "--no-fund", ...files],
      { cwd: project, stdio: "ignore" },
    );

    const bin = join(project, "path");
    mkdirSync(bin);
    for (const tool of ["node", "sh", "echo"])
      symlinkSync(which(tool), join(bin, tool));
    const result = spawnSync(
      join(project, "node_modules/.bin/uwrx"),
      [
        "run",
        "--trace-dir",
        join(project, "trace"),
        "--",
        "sh",
        "-c",
        "echo ran; command -v gcc || echo no-gcc",
      ],
      { encoding: "utf8", env: { PATH: bin, HOME: project } },
    );

    expect(result.stderr).not.toContain("uwrx: unexpected");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("ran\nno-gcc\n");
  },
  PACK_TIMEOUT_MS,
);
