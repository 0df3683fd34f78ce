/*
 * Reader of the layer index that @uwrx/overlay writes: the merged view of
 * the parent layers as an open-addressing hash table of paths. The layout
 * is fixed by the overlay package's README. This file depends on libc
 * only, so that test drivers and a future in-process shim can link it.
 */
#ifndef UWRX_LAYER_INDEX_H
#define UWRX_LAYER_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type byte of a slot. */
enum index_type {
	INDEX_EMPTY = 0,
	INDEX_FILE = 1,
	INDEX_DIRECTORY = 2,
	INDEX_SYMLINK = 3,
	INDEX_WHITEOUT = 4,
	INDEX_OTHER = 5,
};

/* Flag bit of a directory: the base's directory at the path is hidden. */
#define INDEX_FLAG_OPAQUE 1u

struct layer_index {
	const uint8_t *data; /* the mapped file */
	size_t size;
	uint32_t layer_count; /* base, parents, writable layer */
	uint32_t slot_count;
	uint32_t entry_count;
	const uint8_t *layers;
	const uint8_t *slots;
	const char *strings;
	uint64_t string_size;
};

struct index_entry {
	const char *path;
	uint32_t path_len;
	const char *target; /* NUL-terminated; "" unless a symlink */
	uint32_t target_len;
	uint16_t layer;
	uint8_t type;
	uint8_t flags;
};

uint64_t fnv1a64(const void *data, size_t len);
int layer_index_open(const char *file, struct layer_index *out,
		     char *error, size_t error_size);
void layer_index_close(struct layer_index *ix);
bool layer_index_lookup(const struct layer_index *ix, const char *path,
			size_t len, struct index_entry *out);
const char *layer_index_layer_path(const struct layer_index *ix,
				   uint32_t layer);
uint64_t layer_index_layer_time(const struct layer_index *ix, uint32_t layer);

#endif
