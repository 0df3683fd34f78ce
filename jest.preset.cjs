// Shared jest settings: TypeScript through @swc/jest as native ESM, so
// ESM-only dependencies load as they do at run time.
module.exports = {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript" }, target: "es2022" },
        module: { type: "es6" },
      },
    ],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  // Tests run real programs and builds under the supervisor; on a loaded
  // 2-CPU machine the 5 s default cuts off tests that are not stuck.
  testTimeout: 60_000,
};
