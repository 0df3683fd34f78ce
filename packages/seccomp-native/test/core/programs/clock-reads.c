/* Reads CLOCK_MONOTONIC, CLOCK_BOOTTIME and CLOCK_PROCESS_CPUTIME_ID
 * argv[1] times each through raw syscalls, which the vDSO cannot answer,
 * and prints how far CLOCK_MONOTONIC moved, in nanoseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long ns_of(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	struct timespec first, last, other;

	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &first);
	last = first;
	for (long i = 0; i < count; i++) {
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &last);
		syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &other);
		syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &other);
	}
	printf("%lld\n", ns_of(&last) - ns_of(&first));
	return 0;
}
