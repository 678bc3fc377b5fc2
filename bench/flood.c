// SPDX-License-Identifier: GPL-2.0-only
/*
 * UDP load for bench/run.
 *   flood send <addr> <port> <size> <seconds> <mark> [pps]   blast (or pace at pps, in bursts of
 *                                                            at most a millisecond) datagrams
 *   flood recv <port> <seconds>                              count what arrives, print pps
 * "send" prints the number of datagrams it sent.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int do_send(const char *addr, int port, int size, double secs, unsigned mark, double pps)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	char buf[65536];
	long sent = 0;
	double start, next;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET, addr, &to.sin_addr) != 1)
		return perror("socket/address"), 1;
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return perror("SO_MARK"), 1;
	memset(buf, 0x5a, sizeof(buf));
	start = next = now();
	while (now() - start < secs) {
		if (pps > 0) {
			/*
			 * Ahead by a millisecond or more: sleep, do not spin. A spinning
			 * sender would take a whole CPU from the tracer it measures.
			 */
			double ahead = next - now();

			if (ahead >= 1e-3) {
				struct timespec ts = { .tv_sec = (time_t)ahead,
						       .tv_nsec = (long)((ahead - (time_t)ahead) * 1e9) };
				nanosleep(&ts, NULL);
			}
			next += 1.0 / pps;
		}
		if (sendto(fd, buf, size, 0, (struct sockaddr *)&to, sizeof(to)) == size)
			sent++;
	}
	printf("%ld\n", sent);
	return 0;
}

static int do_recv(int port, double secs)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), size = 1 << 24;
	char buf[65536];
	long got = 0;
	double first = 0, last = 0;

	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0)
		return perror("bind"), 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	last = now();
	for (;;) {
		if (recv(fd, buf, sizeof(buf), 0) < 0) {
			if (first && now() - last > 0.5)
				break;
			if (!first && now() - last > secs + 30)
				break;
			continue;
		}
		last = now();
		if (!first)
			first = last;
		got++;
		if (last - first >= secs)
			break;
	}
	printf("%.0f\n", first && last > first ? got / (last - first) : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 7 && !strcmp(argv[1], "send"))
		return do_send(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]),
			       strtoul(argv[6], NULL, 0), argc > 7 ? atof(argv[7]) : 0);
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return do_recv(atoi(argv[2]), atof(argv[3]));
	fprintf(stderr, "usage: flood send ADDR PORT SIZE SECONDS MARK [PPS] | flood recv PORT SECONDS\n");
	return 2;
}
