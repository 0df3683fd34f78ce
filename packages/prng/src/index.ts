export {
  CHACHA20_BLOCK_BYTES,
  CHACHA20_KEY_BYTES,
  CHACHA20_MAX_COUNTER,
  CHACHA20_NONCE_BYTES,
  ChaCha20Keystream,
  chacha20Block,
  chacha20Encrypt,
  type ChaCha20BlockOptions,
  type ChaCha20EncryptOptions,
} from "./chacha20.js";
export {
  AT_RANDOM_BYTES,
  atRandom,
  deriveChild,
  deriveExec,
  deriveThread,
  seedForPath,
  type DeriveExecOptions,
  type DeriveIndexOptions,
  type SeedForPathOptions,
} from "./derive.js";
export { DOMAIN_TAGS, domainNonce, type Domain } from "./domains.js";
export { PrngError, isPrngError, type PrngErrorCode } from "./errors.js";
export { RandomStream, STREAM_MAX_BYTES } from "./random-stream.js";
export {
  DEFAULT_ROOT_SEED_OPTIONS,
  SEED_BYTES,
  formatSeed,
  parseSeed,
  rootSeed,
  type RootSeedOptions,
} from "./seed.js";
