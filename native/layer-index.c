/*
 * Reader of the binary layer index. The file is mapped read-only and
 * checked once at open, so that lookups can trust every offset: each
 * string reference that a lookup follows is checked against the string
 * table when the file is opened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer-index.h"

#define INDEX_MAGIC "UWRXLIDX"
#define INDEX_VERSION 1u
#define HEADER_BYTES 64u
#define LAYER_BYTES 16u
#define SLOT_BYTES 32u

/* The index is little-endian on every host; these readers do not depend
 * on the host's byte order or on the alignment of the mapping. */
static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

uint64_t fnv1a64(const void *data, size_t len)
{
	const uint8_t *bytes = data;
	uint64_t hash = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		hash ^= bytes[i];
		hash *= 0x100000001b3ull;
	}
	return hash;
}

static int fail(char *error, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *error, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool fits(uint64_t offset, uint64_t length, size_t size)
{
	return offset <= size && length <= size - offset;
}

/* Checks that a string reference stays inside the table, NUL included. */
static bool string_fits(const struct layer_index *ix, uint32_t offset,
			uint32_t length)
{
	return (uint64_t)offset + length < ix->string_size &&
	       ix->strings[offset + length] == '\0';
}

static int check_tables(struct layer_index *ix, char *error, size_t size)
{
	for (uint32_t i = 0; i < ix->layer_count; i++) {
		const uint8_t *layer = ix->layers + i * LAYER_BYTES;

		if (!string_fits(ix, le32(layer), le32(layer + 4)))
			return fail(error, size, "layer %u names a string outside the string table", i);
	}
	for (uint32_t i = 0; i < ix->slot_count; i++) {
		const uint8_t *slot = ix->slots + (size_t)i * SLOT_BYTES;

		if (slot[26] == INDEX_EMPTY)
			continue;
		if (slot[26] > INDEX_OTHER)
			return fail(error, size, "slot %u has unknown type %u", i, slot[26]);
		/* A slot without a target stores offset 0 and length 0. */
		if (!string_fits(ix, le32(slot + 8), le32(slot + 12)) ||
		    (le32(slot + 20) != 0 &&
		     !string_fits(ix, le32(slot + 16), le32(slot + 20))))
			return fail(error, size, "slot %u names a string outside the string table", i);
	}
	return 0;
}

static int parse_header(struct layer_index *ix, char *error, size_t size)
{
	const uint8_t *h = ix->data;
	uint64_t layer_offset, slot_offset, string_offset;

	if (ix->size < HEADER_BYTES || memcmp(h, INDEX_MAGIC, 8) != 0)
		return fail(error, size, "not a uwrx layer index: the magic %s is missing", INDEX_MAGIC);
	if (le32(h + 8) != INDEX_VERSION)
		return fail(error, size, "version %u is not the supported version %u", le32(h + 8), INDEX_VERSION);
	ix->layer_count = le32(h + 16);
	ix->slot_count = le32(h + 20);
	ix->entry_count = le32(h + 24);
	layer_offset = le64(h + 32);
	slot_offset = le64(h + 40);
	string_offset = le64(h + 48);
	ix->string_size = le64(h + 56);
	if (ix->layer_count < 2)
		return fail(error, size, "layer count %u is below 2 (base and writable layer)", ix->layer_count);
	if (ix->slot_count < 8 || (ix->slot_count & (ix->slot_count - 1)) ||
	    ix->entry_count > ix->slot_count / 2)
		return fail(error, size, "slot count %u with %u entries is not a power of two at least 8 and twice the entries", ix->slot_count, ix->entry_count);
	if (!fits(layer_offset, (uint64_t)ix->layer_count * LAYER_BYTES, ix->size) ||
	    !fits(slot_offset, (uint64_t)ix->slot_count * SLOT_BYTES, ix->size) ||
	    !fits(string_offset, ix->string_size, ix->size))
		return fail(error, size, "a table runs past the end of the file (%zu bytes)", ix->size);
	ix->layers = ix->data + layer_offset;
	ix->slots = ix->data + slot_offset;
	ix->strings = (const char *)ix->data + string_offset;
	return 0;
}

/*
 * Maps and checks the index file. Returns 0, or -errno with a message in
 * error: the errno of open or mmap, or -EINVAL for a malformed file.
 */
int layer_index_open(const char *file, struct layer_index *out, char *error,
		     size_t error_size)
{
	struct stat st;
	void *data;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = -errno;
		snprintf(error, error_size, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (st.st_size == 0) {
		close(fd);
		return fail(error, error_size, "the file is empty");
	}
	data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	rc = data == MAP_FAILED ? -errno : 0;
	close(fd);
	if (rc != 0) {
		snprintf(error, error_size, "mmap failed: %s", strerror(-rc));
		return rc;
	}
	out->data = data;
	out->size = (size_t)st.st_size;
	rc = parse_header(out, error, error_size);
	if (rc == 0)
		rc = check_tables(out, error, error_size);
	if (rc != 0)
		layer_index_close(out);
	return rc;
}

void layer_index_close(struct layer_index *ix)
{
	if (ix->data)
		munmap((void *)ix->data, ix->size);
	memset(ix, 0, sizeof(*ix));
}

static void decode_slot(const struct layer_index *ix, const uint8_t *slot,
			struct index_entry *out)
{
	out->path = ix->strings + le32(slot + 8);
	out->path_len = le32(slot + 12);
	out->target_len = le32(slot + 20);
	out->target = out->target_len ? ix->strings + le32(slot + 16) : "";
	out->layer = le16(slot + 24);
	out->type = slot[26];
	out->flags = slot[27];
}

/* Finds the entry of path (len bytes, no NUL needed) by linear probing. An
 * empty slot ends the probe, and the load factor of at most 1/2 that
 * open checked guarantees one. */
bool layer_index_lookup(const struct layer_index *ix, const char *path,
			size_t len, struct index_entry *out)
{
	uint64_t hash;
	uint32_t mask, i;

	if (!ix->data)
		return false;
	hash = fnv1a64(path, len);
	mask = ix->slot_count - 1;
	for (i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
		const uint8_t *slot = ix->slots + (size_t)i * SLOT_BYTES;

		if (slot[26] == INDEX_EMPTY)
			return false;
		if (le64(slot) == hash && le32(slot + 12) == len &&
		    memcmp(ix->strings + le32(slot + 8), path, len) == 0) {
			decode_slot(ix, slot, out);
			return true;
		}
	}
}

const char *layer_index_layer_path(const struct layer_index *ix,
				   uint32_t layer)
{
	return ix->strings + le32(ix->layers + layer * LAYER_BYTES);
}

uint64_t layer_index_layer_time(const struct layer_index *ix, uint32_t layer)
{
	return le64(ix->layers + layer * LAYER_BYTES + 8);
}
