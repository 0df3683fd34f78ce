import { defineConfig } from "tsup";

export default defineConfig({
  // No Node built-ins in the library, so browsers and the CLI share it.
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
});
