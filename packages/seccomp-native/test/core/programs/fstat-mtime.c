/* Prints the mtime of each argument as fstat reports it through an open
 * fd, as seconds.nanoseconds: first from glibc's fstat (newfstatat with
 * AT_EMPTY_PATH since glibc 2.33), then from the raw fstat syscall where
 * the architecture has one. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void print_mtime(const struct stat *st)
{
	printf("%lld.%09ld", (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int fd = open(argv[i], O_RDONLY);

		if (fd < 0 || fstat(fd, &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		print_mtime(&st);
#ifdef SYS_fstat
		if (syscall(SYS_fstat, fd, &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		putchar(' ');
		print_mtime(&st);
#endif
		putchar('\n');
		close(fd);
	}
	return 0;
}
