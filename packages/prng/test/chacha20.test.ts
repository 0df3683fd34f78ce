import { PrngError, chacha20Block, chacha20Encrypt } from "../src/index.js";
import { fromHex, opensslKeystream, toHex } from "./helpers.js";

// Inputs and outputs typed in from RFC 8439 sections 2.3.2 and 2.4.2.
const RFC_KEY = fromHex(
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
);
const RFC_BLOCK =
  "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e" +
  "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e";
const RFC_PLAINTEXT =
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
const RFC_CIPHERTEXT =
  "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b" +
  "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
  "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" +
  "5af90bbf74a35be6b40b8eedf2785e42874d";

describe("chacha20Block", () => {
  test("RFC 8439 2.3.2 vector", () => {
    const block = chacha20Block({
      key: RFC_KEY,
      nonce: fromHex("000000090000004a00000000"),
      counter: 1,
    });

    expect(toHex(block)).toBe(RFC_BLOCK);
  });

  test("matches OpenSSL at large counters", () => {
    const nonce = fromHex("0102030405060708090a0b0c");
    for (const counter of [0, 2, 0x7fffffff, 0xffffffff]) {
      const expected = opensslKeystream({
        key: RFC_KEY,
        nonce,
        counter,
        length: 64,
      });

      expect(toHex(chacha20Block({ key: RFC_KEY, nonce, counter }))).toBe(
        toHex(expected),
      );
    }
  });

  test("rejects a short key", () => {
    const call = () =>
      chacha20Block({
        key: new Uint8Array(16),
        nonce: new Uint8Array(12),
        counter: 0,
      });

    expect(call).toThrow(PrngError);
    expect(call).toThrow("invalid ChaCha20 key of 16 bytes");
  });

  test("rejects a counter past 32 bits", () => {
    const call = () =>
      chacha20Block({
        key: RFC_KEY,
        nonce: new Uint8Array(12),
        counter: 2 ** 32,
      });

    expect(call).toThrow("invalid ChaCha20 block counter 4294967296");
  });
});

describe("chacha20Encrypt", () => {
  test("RFC 8439 2.4.2 vector", () => {
    const ciphertext = chacha20Encrypt({
      key: RFC_KEY,
      nonce: fromHex("000000000000004a00000000"),
      counter: 1,
      data: new TextEncoder().encode(RFC_PLAINTEXT),
    });

    expect(toHex(ciphertext)).toBe(RFC_CIPHERTEXT);
  });

  test("decrypts its own output", () => {
    const ciphertext = fromHex(RFC_CIPHERTEXT);

    const plaintext = chacha20Encrypt({
      key: RFC_KEY,
      nonce: fromHex("000000000000004a00000000"),
      counter: 1,
      data: ciphertext,
    });

    expect(new TextDecoder().decode(plaintext)).toBe(RFC_PLAINTEXT);
  });

  test("rejects data past the last counter", () => {
    const call = () =>
      chacha20Encrypt({
        key: RFC_KEY,
        nonce: new Uint8Array(12),
        counter: 0xffffffff,
        data: new Uint8Array(65),
      });

    expect(call).toThrow(expect.objectContaining({ code: "STREAM_EXHAUSTED" }));
  });
});
