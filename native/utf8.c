/*
 * UTF-8 checks for protobuf `string` fields, which decoders reject when
 * they hold anything but valid UTF-8, and base64 for the exact bytes.
 */
#include <stdint.h>
#include <string.h>

#include "core.h"

/* Returns the length of the valid UTF-8 sequence at the start of s, or 0
 * when its first byte does not begin one. Overlong forms, surrogates and
 * values past U+10FFFF are invalid (RFC 3629, section 3). */
static size_t sequence_length(const uint8_t *s, size_t len)
{
	uint8_t b = s[0];
	size_t extra;
	uint32_t cp;

	if (b < 0x80)
		return 1;
	if ((b & 0xe0) == 0xc0) {
		extra = 1;
		cp = b & 0x1f;
	} else if ((b & 0xf0) == 0xe0) {
		extra = 2;
		cp = b & 0x0f;
	} else if ((b & 0xf8) == 0xf0) {
		extra = 3;
		cp = b & 0x07;
	} else {
		return 0;
	}
	for (size_t k = 1; k <= extra; k++) {
		if (k >= len || (s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
	    (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return extra + 1;
}

bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = sequence_length(s + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Returns a copy of s with each byte that is not part of a valid UTF-8
 * sequence replaced by U+FFFD. The caller frees it. */
char *utf8_sanitize(const char *s)
{
	const uint8_t *in = (const uint8_t *)s;
	size_t len = strlen(s);
	/* U+FFFD takes 3 bytes in place of 1. */
	char *out = xmalloc(3 * len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = sequence_length(in + i, len - i);

		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, in + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

char *base64_encode(const uint8_t *data, size_t len)
{
	static const char table[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		out[o++] = table[(v >> 18) & 63];
		out[o++] = table[(v >> 12) & 63];
		out[o++] = i + 1 < len ? table[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? table[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}
