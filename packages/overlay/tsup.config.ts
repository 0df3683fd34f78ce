import { defineConfig } from "tsup";

export default defineConfig({
  // Node only: the library reads and writes layer directories with node:fs.
  entry: ["src/index.ts"],
  format: ["esm"],
  platform: "node",
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
});
