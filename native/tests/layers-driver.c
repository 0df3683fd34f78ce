/*
 * Test driver for native/layer-index.c: opens the index given as the
 * first argument and answers one request per line on stdin.
 *
 *   layers          one line per layer: "LAYER TIME_NS PATH"
 *   lookup PATH     "absent", or "TYPE LAYER FLAGS TARGET" with the type
 *                   code of the slot and the symlink target ("" if none)
 *
 * Every answer ends with a line "end".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer-index.h"

static void answer_layers(const struct layer_index *ix)
{
	for (uint32_t i = 0; i < ix->layer_count; i++)
		printf("%u %llu %s\n", i,
		       (unsigned long long)layer_index_layer_time(ix, i),
		       layer_index_layer_path(ix, i));
}

static void answer_lookup(const struct layer_index *ix, const char *path)
{
	struct index_entry e;

	if (!layer_index_lookup(ix, path, strlen(path), &e)) {
		printf("absent\n");
		return;
	}
	printf("%u %u %u %s\n", e.type, e.layer, e.flags, e.target);
}

int main(int argc, char **argv)
{
	struct layer_index ix;
	char error[256], line[8192];

	if (argc != 2) {
		fprintf(stderr, "usage: layers-driver INDEX\n");
		return 2;
	}
	if (layer_index_open(argv[1], &ix, error, sizeof(error)) != 0) {
		fprintf(stderr, "layers-driver: %s: %s\n", argv[1], error);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "layers") == 0)
			answer_layers(&ix);
		else if (strncmp(line, "lookup ", 7) == 0)
			answer_lookup(&ix, line + 7);
		else
			printf("unknown request\n");
		printf("end\n");
	}
	layer_index_close(&ix);
	return 0;
}
