import { CHACHA20_BLOCK_BYTES, ChaCha20Keystream } from "./chacha20.js";
import { checkIndex, domainNonce, type Domain } from "./domains.js";
import { SEED_BYTES, checkSeed } from "./seed.js";

/** Number of AT_RANDOM bytes the kernel places in the auxiliary vector. */
export const AT_RANDOM_BYTES = 16;

/** Options of `deriveChild` and `deriveThread`. */
export interface DeriveIndexOptions {
  /** Seed of the parent process (32 bytes). */
  seed: Uint8Array;
  /** Position among the parent's children or threads, counted from 1. */
  index: number;
}

/** Options of `deriveExec`. */
export interface DeriveExecOptions {
  /** Seed of the process (32 bytes), unchanged by exec. */
  seed: Uint8Array;
  /** Number of the exec within the process, counted from 1. */
  execIndex: number;
}

/** Options of `seedForPath`. */
export interface SeedForPathOptions {
  /** Root seed of the attempt (32 bytes). */
  root: Uint8Array;
  /** Child positions from the root process down, each counted from 1. */
  path: readonly number[];
}

/**
 * Derives the seed of the `index`-th child process of the process with
 * `seed`: the first 32 bytes of ChaCha20 block 0 with key `seed` and nonce
 * `"chld"` followed by `index` as 64-bit little-endian.
 */
export function deriveChild(options: DeriveIndexOptions): Uint8Array {
  checkSeed(options.seed);
  checkIndex("child index", options.index, 1);

  return deriveSeed(options.seed, "child", options.index);
}

/**
 * Derives the seed of the `index`-th thread that a process image created,
 * as `deriveChild` does but with the nonce tag `"thrd"`.
 */
export function deriveThread(options: DeriveIndexOptions): Uint8Array {
  checkSeed(options.seed);
  checkIndex("thread index", options.index, 1);

  return deriveSeed(options.seed, "thread", options.index);
}

/**
 * Derives the seed of the image loaded by the `execIndex`-th exec of a
 * process, as `deriveChild` does but with the nonce tag `"exec"`. The
 * process seed itself does not change at exec.
 */
export function deriveExec(options: DeriveExecOptions): Uint8Array {
  checkSeed(options.seed);
  checkIndex("exec index", options.execIndex, 1);

  return deriveSeed(options.seed, "exec", options.execIndex);
}

/**
 * Derives the seed of the process at `path` below the root process: the
 * empty path gives `root` itself, and [1, 3] the 3rd child of the root's
 * 1st child.
 */
export function seedForPath(options: SeedForPathOptions): Uint8Array {
  checkSeed(options.root, "root seed");

  let seed = options.root.slice();
  options.path.forEach((index, depth) => {
    checkIndex(`child index at path[${depth}]`, index, 1);
    seed = deriveSeed(seed, "child", index);
  });
  return seed;
}

/**
 * Returns the 16 AT_RANDOM bytes of the image with seed `seed` (usually from
 * `deriveExec`): the first 16 bytes of ChaCha20 block 0 with nonce tag
 * `"atrn"` and index 0, apart from the `"strm"` stream that getrandom reads.
 */
export function atRandom(seed: Uint8Array): Uint8Array {
  checkSeed(seed);

  return firstBlock(seed, "atRandom", 0).slice(0, AT_RANDOM_BYTES);
}

function deriveSeed(seed: Uint8Array, domain: Domain, index: number) {
  return firstBlock(seed, domain, index).slice(0, SEED_BYTES);
}

function firstBlock(seed: Uint8Array, domain: Domain, index: number) {
  const block = new Uint8Array(CHACHA20_BLOCK_BYTES);
  new ChaCha20Keystream(seed, domainNonce(domain, index)).block(0, block);
  return block;
}
