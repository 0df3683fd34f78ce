/*
 * Makes N calls of one kind, for the per-call cost table of
 * docs/benchmarks.md: the benchmark times the whole process from outside,
 * with N and with 0 calls, because uwrx virtualizes the clocks that the
 * process itself could read.
 * Usage: syscall-cost clock|getrandom|open|stat N
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void call_once(const char *kind)
{
	struct timespec ts;
	struct stat st;
	char buf[16];
	int fd;

	if (strcmp(kind, "clock") == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
	} else if (strcmp(kind, "getrandom") == 0) {
		if (getrandom(buf, sizeof(buf), 0) < 0)
			exit(1);
	} else if (strcmp(kind, "open") == 0) {
		fd = open("/etc/hostname", O_RDONLY);
		if (fd >= 0)
			close(fd);
	} else if (strcmp(kind, "stat") == 0) {
		stat("/etc/hostname", &st);
	} else {
		fprintf(stderr, "unknown kind %s\n", kind);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	long count;

	if (argc != 3) {
		fprintf(stderr, "usage: %s clock|getrandom|open|stat N\n", argv[0]);
		return 2;
	}
	count = atol(argv[2]);
	for (long i = 0; i < count; i++)
		call_once(argv[1]);
	return 0;
}
