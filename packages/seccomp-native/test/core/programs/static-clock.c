/* Reads CLOCK_REALTIME through a raw syscall and through libc; built with
 * gcc -static, whose libc looks for the vDSO in the auxiliary vector. */
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec raw, libc;

	syscall(SYS_clock_gettime, CLOCK_REALTIME, &raw);
	clock_gettime(CLOCK_REALTIME, &libc);
	printf("raw %lld.%09ld\n", (long long)raw.tv_sec, raw.tv_nsec);
	printf("libc %lld.%09ld\n", (long long)libc.tv_sec, libc.tv_nsec);
	return 0;
}
