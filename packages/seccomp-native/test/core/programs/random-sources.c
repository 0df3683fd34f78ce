/* Prints every source of chance that --seed must pin: getrandom bytes,
 * the AT_RANDOM bytes, a stack and a heap address, and two clocks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <time.h>

static void print_hex(const char *label, const uint8_t *bytes, size_t len)
{
	printf("%s ", label);
	for (size_t i = 0; i < len; i++)
		printf("%02x", bytes[i]);
	printf("\n");
}

int main(void)
{
	uint8_t random_bytes[16];
	const uint8_t *at_random = (const uint8_t *)getauxval(AT_RANDOM);
	int on_stack = 0;
	void *on_heap = malloc(64);
	struct timespec real, monotonic;

	if (getrandom(random_bytes, sizeof(random_bytes), 0) != (ssize_t)sizeof(random_bytes))
		return 1;
	print_hex("getrandom", random_bytes, sizeof(random_bytes));
	print_hex("at_random", at_random, 16);
	printf("stack %p\nheap %p\n", (void *)&on_stack, on_heap);
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC, &monotonic);
	printf("realtime %lld.%09ld\n", (long long)real.tv_sec, real.tv_nsec);
	printf("monotonic %lld.%09ld\n", (long long)monotonic.tv_sec, monotonic.tv_nsec);
	free(on_heap);
	return 0;
}
