import { defineConfig } from "tsup";

// The CLI is one self-contained file: every JavaScript dependency is
// bundled, so an install needs only this package and the prebuilt core of
// the platform (an optional dependency, found at run time).
export default defineConfig({
  entry: ["src/cli.ts"],
  format: ["esm"],
  clean: true,
  sourcemap: true,
  target: "node20",
  noExternal: [/.*/],
  banner: { js: "#!/usr/bin/env node" },
});
