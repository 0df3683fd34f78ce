import { defineConfig } from "tsup";

export default defineConfig({
  // The main entry stays free of Node built-ins so browsers can use it; the
  // buffer collector reads files and lives behind "@uwrx/perfetto/node".
  entry: ["src/index.ts", "src/node.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
});
