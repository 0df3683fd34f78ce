/*
 * ChaCha20 and the seed derivations of @uwrx/prng. See prng.h; the
 * algorithm is the one in packages/prng/README.md.
 */
#include <errno.h>
#include <string.h>

#include "prng.h"

/* A stream ends after 2^32 blocks: the 32-bit block counter never wraps. */
#define STREAM_MAX_BYTES ((uint64_t)1 << 38)

static uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void store32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t rotl(uint32_t v, int n)
{
	return v << n | v >> (32 - n);
}

#define QUARTER_ROUND(x, a, b, c, d)                      \
	do {                                              \
		x[a] += x[b];                             \
		x[d] = rotl(x[d] ^ x[a], 16);             \
		x[c] += x[d];                             \
		x[b] = rotl(x[b] ^ x[c], 12);             \
		x[a] += x[b];                             \
		x[d] = rotl(x[d] ^ x[a], 8);              \
		x[c] += x[d];                             \
		x[b] = rotl(x[b] ^ x[c], 7);              \
	} while (0)

/* RFC 8439 section 2.3: the constants "expand 32-byte k", the key, the
 * block counter and the nonce, then 10 double rounds. */
void chacha20_block(const uint8_t key[32], uint32_t counter,
		    const uint8_t nonce[12], uint8_t out[CHACHA20_BLOCK_BYTES])
{
	uint32_t state[16], x[16];

	state[0] = 0x61707865;
	state[1] = 0x3320646e;
	state[2] = 0x79622d32;
	state[3] = 0x6b206574;
	for (int i = 0; i < 8; i++)
		state[4 + i] = load32(key + 4 * i);
	state[12] = counter;
	for (int i = 0; i < 3; i++)
		state[13 + i] = load32(nonce + 4 * i);

	memcpy(x, state, sizeof(x));
	for (int round = 0; round < 10; round++) {
		QUARTER_ROUND(x, 0, 4, 8, 12);
		QUARTER_ROUND(x, 1, 5, 9, 13);
		QUARTER_ROUND(x, 2, 6, 10, 14);
		QUARTER_ROUND(x, 3, 7, 11, 15);
		QUARTER_ROUND(x, 0, 5, 10, 15);
		QUARTER_ROUND(x, 1, 6, 11, 12);
		QUARTER_ROUND(x, 2, 7, 8, 13);
		QUARTER_ROUND(x, 3, 4, 9, 14);
	}
	for (int i = 0; i < 16; i++)
		store32(out + 4 * i, x[i] + state[i]);
}

/* The nonce of a domain: the 4-byte ASCII tag, then index as 64-bit
 * little-endian. */
static void domain_nonce(const char tag[4], uint64_t index, uint8_t nonce[12])
{
	memcpy(nonce, tag, 4);
	store32(nonce + 4, (uint32_t)index);
	store32(nonce + 8, (uint32_t)(index >> 32));
}

/* F(key, tag, index, n): the first n bytes of block 0. */
static void derive(const uint8_t key[32], const char tag[4], uint64_t index,
		   uint8_t *out, size_t n)
{
	uint8_t nonce[12], block[CHACHA20_BLOCK_BYTES];

	domain_nonce(tag, index, nonce);
	chacha20_block(key, 0, nonce, block);
	memcpy(out, block, n);
}

void prng_derive_child(const uint8_t seed[32], uint64_t index, uint8_t out[32])
{
	derive(seed, "chld", index, out, PRNG_SEED_BYTES);
}

void prng_derive_thread(const uint8_t seed[32], uint64_t index, uint8_t out[32])
{
	derive(seed, "thrd", index, out, PRNG_SEED_BYTES);
}

void prng_derive_exec(const uint8_t seed[32], uint64_t exec_index,
		      uint8_t out[32])
{
	derive(seed, "exec", exec_index, out, PRNG_SEED_BYTES);
}

void prng_at_random(const uint8_t image_seed[32],
		    uint8_t out[PRNG_AT_RANDOM_BYTES])
{
	derive(image_seed, "atrn", 0, out, PRNG_AT_RANDOM_BYTES);
}

void prng_stream_init(struct prng_stream *s, const uint8_t seed[32])
{
	memcpy(s->key, seed, PRNG_SEED_BYTES);
	s->position = 0;
}

/* Fills out with the next len bytes of the stream. Returns 0, or -EOVERFLOW
 * (reading nothing) when the read would pass the stream's end, because
 * reusing keystream bytes would repeat earlier random values. */
int prng_stream_fill(struct prng_stream *s, uint8_t *out, size_t len)
{
	uint8_t nonce[12];
	size_t done = 0;

	if (len > STREAM_MAX_BYTES - s->position)
		return -EOVERFLOW;
	domain_nonce("strm", 0, nonce);
	while (done < len) {
		size_t offset = (size_t)(s->position % CHACHA20_BLOCK_BYTES);
		size_t count = CHACHA20_BLOCK_BYTES - offset;

		if (offset == 0)
			chacha20_block(s->key,
				       (uint32_t)(s->position / CHACHA20_BLOCK_BYTES),
				       nonce, s->block);
		if (count > len - done)
			count = len - done;
		memcpy(out + done, s->block + offset, count);
		done += count;
		s->position += count;
	}
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool prng_parse_seed(const char *s, uint8_t out[32])
{
	if (strlen(s) != 2 * PRNG_SEED_BYTES)
		return false;
	for (size_t i = 0; i < PRNG_SEED_BYTES; i++) {
		int high = hex_value(s[2 * i]), low = hex_value(s[2 * i + 1]);

		if (high < 0 || low < 0)
			return false;
		out[i] = (uint8_t)(high << 4 | low);
	}
	return true;
}
