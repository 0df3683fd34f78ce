import { readFileSync } from "node:fs";

import {
  RandomStream,
  atRandom,
  chacha20Block,
  chacha20Encrypt,
  deriveExec,
  deriveThread,
  formatSeed,
  parseSeed,
  seedForPath,
} from "../src/index.js";
import { fromHex, toHex } from "./helpers.js";

interface ChaChaVector {
  name: string;
  key: string;
  nonce: string;
  counter: number;
  block?: string;
  plaintext?: string;
  ciphertext?: string;
}

interface Case {
  name: string;
  root: string;
  path: number[];
  seed: string;
  stream: string;
  split: { sizes: number[]; chunks: string[] };
  execs: {
    execIndex: number;
    seed: string;
    atRandom: string;
    stream: string;
  }[];
  threads: { index: number; seed: string; stream: string }[];
}

// Regenerate with `npx pnpm@10.34.8 run vectors` only when the algorithm
// changes on purpose; the C core checks itself against the same file.
const vectors = JSON.parse(
  readFileSync(
    new URL("../vectors/prng-vectors.json", import.meta.url),
    "utf8",
  ),
) as { chacha20: ChaChaVector[]; cases: Case[] };

function streamHex(seed: Uint8Array, length: number): string {
  return toHex(new RandomStream(seed).next(length));
}

describe("prng-vectors.json", () => {
  test("holds RFC vectors and cases", () => {
    expect(vectors.chacha20).toHaveLength(2);
    expect(vectors.cases.length).toBeGreaterThanOrEqual(4);
  });

  test.each(vectors.chacha20.map((v) => [v.name, v] as const))(
    "%s",
    (_name, vector) => {
      const options = {
        key: fromHex(vector.key),
        nonce: fromHex(vector.nonce),
        counter: vector.counter,
      };
      if (vector.block !== undefined) {
        expect(toHex(chacha20Block(options))).toBe(vector.block);
      } else {
        const data = fromHex(vector.plaintext ?? "");
        expect(toHex(chacha20Encrypt({ ...options, data }))).toBe(
          vector.ciphertext,
        );
      }
    },
  );

  describe.each(vectors.cases.map((c) => [c.name, c] as const))(
    "%s",
    (_name, vector) => {
      const seed = seedForPath({
        root: parseSeed(vector.root),
        path: vector.path,
      });

      test("process seed and stream", () => {
        expect(formatSeed(seed)).toBe(vector.seed);
        expect(streamHex(seed, 64)).toBe(vector.stream);
      });

      test("split read", () => {
        const stream = new RandomStream(seed);
        const chunks = vector.split.sizes.map((size) =>
          toHex(stream.next(size)),
        );

        expect(chunks).toEqual(vector.split.chunks);
        expect(chunks.join("").slice(0, 128)).toBe(vector.stream);
      });

      test("exec seeds and AT_RANDOM", () => {
        for (const exec of vector.execs) {
          const execSeed = deriveExec({ seed, execIndex: exec.execIndex });

          expect(formatSeed(execSeed)).toBe(exec.seed);
          expect(toHex(atRandom(execSeed))).toBe(exec.atRandom);
          expect(streamHex(execSeed, 32)).toBe(exec.stream);
        }
      });

      test("thread seeds", () => {
        for (const thread of vector.threads) {
          const threadSeed = deriveThread({ seed, index: thread.index });

          expect(formatSeed(threadSeed)).toBe(thread.seed);
          expect(streamHex(threadSeed, 32)).toBe(thread.stream);
        }
      });
    },
  );
});
