/*
 * Test driver for native/prng.c: reads one request per line on stdin and
 * prints one line of lowercase hex per request.
 *
 *   block KEY NONCE COUNTER          one ChaCha20 block
 *   encrypt KEY NONCE COUNTER DATA   DATA xor the keystream from COUNTER
 *   path ROOT [I1 I2 ...]            seed of the process at that path
 *   stream SEED [N1 N2 ...]          reads of N bytes, space-separated
 *   exec SEED K | thread SEED T      derived seeds
 *   atrandom SEED                    the 16 AT_RANDOM bytes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../prng.h"

static size_t parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s) / 2;

	if (n > max) {
		fprintf(stderr, "prng-driver: hex value longer than %zu bytes\n", max);
		exit(2);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned int byte;

		sscanf(s + 2 * i, "%2x", &byte);
		out[i] = (uint8_t)byte;
	}
	return n;
}

static void print_hex(const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x", data[i]);
}

static void run_encrypt(char **words, int count)
{
	static uint8_t data[4096];
	uint8_t key[32], nonce[12], block[CHACHA20_BLOCK_BYTES];
	uint32_t counter = (uint32_t)strtoul(words[3], NULL, 10);
	size_t len = count > 4 ? parse_hex(words[4], data, sizeof(data)) : 0;

	parse_hex(words[1], key, 32);
	parse_hex(words[2], nonce, 12);
	for (size_t i = 0; i < len; i++) {
		if (i % CHACHA20_BLOCK_BYTES == 0)
			chacha20_block(key, counter++, nonce, block);
		data[i] ^= block[i % CHACHA20_BLOCK_BYTES];
	}
	print_hex(data, len);
}

static void run_stream(char **words, int count)
{
	static uint8_t data[4096];
	uint8_t seed[32];
	struct prng_stream stream;

	parse_hex(words[1], seed, 32);
	prng_stream_init(&stream, seed);
	for (int i = 2; i < count; i++) {
		size_t len = strtoul(words[i], NULL, 10);

		if (len > sizeof(data) || prng_stream_fill(&stream, data, len) != 0) {
			fprintf(stderr, "prng-driver: invalid read of %zu bytes\n", len);
			exit(2);
		}
		if (i > 2)
			putchar(' ');
		print_hex(data, len);
	}
}

static void run_request(char **words, int count)
{
	uint8_t seed[32], out[CHACHA20_BLOCK_BYTES];

	if (strcmp(words[0], "block") == 0 && count == 4) {
		uint8_t key[32], nonce[12];

		parse_hex(words[1], key, 32);
		parse_hex(words[2], nonce, 12);
		chacha20_block(key, (uint32_t)strtoul(words[3], NULL, 10), nonce, out);
		print_hex(out, CHACHA20_BLOCK_BYTES);
	} else if (strcmp(words[0], "encrypt") == 0 && count >= 4) {
		run_encrypt(words, count);
	} else if (strcmp(words[0], "path") == 0 && count >= 2) {
		parse_hex(words[1], seed, 32);
		for (int i = 2; i < count; i++) {
			prng_derive_child(seed, strtoull(words[i], NULL, 10), out);
			memcpy(seed, out, 32);
		}
		print_hex(seed, 32);
	} else if (strcmp(words[0], "stream") == 0 && count >= 2) {
		run_stream(words, count);
	} else if (strcmp(words[0], "exec") == 0 && count == 3) {
		parse_hex(words[1], seed, 32);
		prng_derive_exec(seed, strtoull(words[2], NULL, 10), out);
		print_hex(out, 32);
	} else if (strcmp(words[0], "thread") == 0 && count == 3) {
		parse_hex(words[1], seed, 32);
		prng_derive_thread(seed, strtoull(words[2], NULL, 10), out);
		print_hex(out, 32);
	} else if (strcmp(words[0], "atrandom") == 0 && count == 2) {
		parse_hex(words[1], seed, 32);
		prng_at_random(seed, out);
		print_hex(out, PRNG_AT_RANDOM_BYTES);
	} else {
		fprintf(stderr, "prng-driver: invalid request '%s'\n", words[0]);
		exit(2);
	}
	putchar('\n');
}

int main(void)
{
	static char line[16384];

	while (fgets(line, sizeof(line), stdin)) {
		char *words[64];
		int count = 0;

		for (char *w = strtok(line, " \n"); w && count < 64; w = strtok(NULL, " \n"))
			words[count++] = w;
		if (count > 0)
			run_request(words, count);
	}
	return 0;
}
