/*
 * A minimal protobuf writer: varints, length-delimited fields and nested
 * messages whose length is back-patched.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Width of a back-patched nested length: a redundant varint of 4 bytes
 * holds up to 2^28 - 1, as Perfetto's protozero writes it. */
#define NESTED_LEN_BYTES 4
#define NESTED_LEN_MAX ((1u << 28) - 1)

enum wire_type { WIRE_VARINT = 0, WIRE_LEN = 2 };

static void pb_reserve(struct pb *pb, size_t extra)
{
	size_t need = pb->len + extra;

	if (need <= pb->cap)
		return;
	pb->cap = pb->cap ? pb->cap * 2 : 256;
	while (pb->cap < need)
		pb->cap *= 2;
	pb->data = xrealloc(pb->data, pb->cap);
}

void pb_reset(struct pb *pb)
{
	pb->len = 0;
}

void pb_free(struct pb *pb)
{
	free(pb->data);
	pb->data = NULL;
	pb->len = pb->cap = 0;
}

void pb_raw(struct pb *pb, const void *bytes, size_t len)
{
	pb_reserve(pb, len);
	memcpy(pb->data + pb->len, bytes, len);
	pb->len += len;
}

void pb_varint(struct pb *pb, uint64_t value)
{
	pb_reserve(pb, 10);
	while (value >= 0x80) {
		pb->data[pb->len++] = (uint8_t)(value | 0x80);
		value >>= 7;
	}
	pb->data[pb->len++] = (uint8_t)value;
}

static void pb_tag(struct pb *pb, uint32_t field, enum wire_type type)
{
	pb_varint(pb, ((uint64_t)field << 3) | type);
}

void pb_uint(struct pb *pb, uint32_t field, uint64_t value)
{
	pb_tag(pb, field, WIRE_VARINT);
	pb_varint(pb, value);
}

/* int32 and int64 fields encode negative values as ten-byte varints. */
void pb_int(struct pb *pb, uint32_t field, int64_t value)
{
	pb_uint(pb, field, (uint64_t)value);
}

void pb_bytes(struct pb *pb, uint32_t field, const void *bytes, size_t len)
{
	pb_tag(pb, field, WIRE_LEN);
	pb_varint(pb, len);
	pb_raw(pb, bytes, len);
}

/* Writes a `string` field. Decoders reject a message whose string field
 * is not valid UTF-8, so each invalid byte becomes U+FFFD. */
void pb_string(struct pb *pb, uint32_t field, const char *s)
{
	size_t len = strlen(s);
	char *clean;

	if (utf8_valid((const uint8_t *)s, len)) {
		pb_bytes(pb, field, s, len);
		return;
	}
	clean = utf8_sanitize(s);
	pb_bytes(pb, field, clean, strlen(clean));
	free(clean);
}

size_t pb_begin(struct pb *pb, uint32_t field)
{
	size_t mark;

	pb_tag(pb, field, WIRE_LEN);
	pb_reserve(pb, NESTED_LEN_BYTES);
	mark = pb->len;
	pb->len += NESTED_LEN_BYTES;
	return mark;
}

void pb_end(struct pb *pb, size_t mark)
{
	size_t len = pb->len - mark - NESTED_LEN_BYTES;

	if (len > NESTED_LEN_MAX)
		die("nested protobuf message of %zu bytes exceeds the 4-byte length limit", len);
	for (int i = 0; i < NESTED_LEN_BYTES; i++) {
		uint8_t byte = (uint8_t)((len >> (7 * i)) & 0x7f);

		if (i < NESTED_LEN_BYTES - 1)
			byte |= 0x80;
		pb->data[mark + i] = byte;
	}
}
