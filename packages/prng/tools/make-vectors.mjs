// Writes vectors/prng-vectors.json from the built library (run `tsup`
// first). The C core must produce every byte of that file, so regenerate
// it only when the algorithm changes on purpose.
import { writeFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
} from "../dist/index.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(packageDir, "vectors", "prng-vectors.json");

// Split sizes chosen to cross 64-byte block boundaries at odd offsets.
const SPLIT_SIZES = [1, 3, 5, 7, 11, 13, 17, 31, 65, 2];
const EXEC_INDEXES = [1, 2];
const THREAD_INDEXES = [1, 2];

// Inputs and outputs typed in from RFC 8439 sections 2.3.2 and 2.4.2.
const RFC_KEY =
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const RFC_PLAINTEXT =
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
const RFC_CHACHA20 = [
  {
    name: "RFC 8439 2.3.2 block function",
    key: RFC_KEY,
    nonce: "000000090000004a00000000",
    counter: 1,
    block:
      "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e" +
      "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e",
  },
  {
    name: "RFC 8439 2.4.2 encryption",
    key: RFC_KEY,
    nonce: "000000000000004a00000000",
    counter: 1,
    plaintext: Buffer.from(RFC_PLAINTEXT, "utf8").toString("hex"),
    ciphertext:
      "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b" +
      "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
      "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" +
      "5af90bbf74a35be6b40b8eedf2785e42874d",
  },
];

const CASES = [
  { name: "zero root, root process", root: "00".repeat(32), path: [] },
  { name: "counting root, first child", root: RFC_KEY, path: [1] },
  {
    name: "deep path",
    root: "c0ffee00".repeat(8),
    path: [1, 3, 2],
  },
  {
    name: "index above 32 bits",
    root: "5eed".repeat(16),
    path: [2, 4294967297],
  },
];

function hex(bytes) {
  return Buffer.from(bytes).toString("hex");
}

function fromHex(text) {
  return new Uint8Array(Buffer.from(text, "hex"));
}

function checkRfcVectors() {
  for (const vector of RFC_CHACHA20) {
    const options = {
      key: fromHex(vector.key),
      nonce: fromHex(vector.nonce),
      counter: vector.counter,
    };
    const actual =
      vector.block !== undefined
        ? hex(chacha20Block(options))
        : hex(chacha20Encrypt({ ...options, data: fromHex(vector.plaintext) }));
    const expected = vector.block ?? vector.ciphertext;
    if (actual !== expected) {
      throw new Error(
        `${vector.name}: library output ${actual} differs from the RFC value ${expected}`,
      );
    }
  }
}

function splitRead(seed) {
  const stream = new RandomStream(seed);
  return {
    sizes: SPLIT_SIZES,
    chunks: SPLIT_SIZES.map((size) => hex(stream.next(size))),
  };
}

function makeCase({ name, root, path }) {
  const seed = seedForPath({ root: parseSeed(root), path });
  return {
    name,
    root,
    path,
    seed: formatSeed(seed),
    stream: hex(new RandomStream(seed).next(64)),
    split: splitRead(seed),
    execs: EXEC_INDEXES.map((execIndex) => {
      const execSeed = deriveExec({ seed, execIndex });
      return {
        execIndex,
        seed: formatSeed(execSeed),
        atRandom: hex(atRandom(execSeed)),
        stream: hex(new RandomStream(execSeed).next(32)),
      };
    }),
    threads: THREAD_INDEXES.map((index) => {
      const threadSeed = deriveThread({ seed, index });
      return {
        index,
        seed: formatSeed(threadSeed),
        stream: hex(new RandomStream(threadSeed).next(32)),
      };
    }),
  };
}

checkRfcVectors();
const vectors = {
  description:
    "Test vectors of @uwrx/prng. The TypeScript library and the C syscall core must both reproduce every value. All byte strings are lowercase hex.",
  chacha20: RFC_CHACHA20,
  cases: CASES.map(makeCase),
};
writeFileSync(`${output}.tmp`, `${JSON.stringify(vectors, null, 2)}\n`);
renameSync(`${output}.tmp`, output);
console.log(`wrote ${output}`);
