// SPDX-License-Identifier: GPL-2.0-only
/*
 * sendmark: send a little IPv4 traffic with SO_MARK set, for the guest scenarios (static, no libc
 * resolver, no python in the initramfs).
 *
 *   sendmark [-c] [-m MARK] [-u COUNT] [-p PORT] [-t PORT [-b BYTES]] [-i COUNT] [-w PORT] ADDR
 *   sendmark -l PORT ADDR
 *
 *   -m MARK   SO_MARK on every socket (decimal or 0x hex; 0 = leave unset)      [0]
 *   -u COUNT  send COUNT UDP datagrams of 32 bytes to ADDR:PORT                 [0]
 *   -p PORT   UDP destination port                                              [9]
 *   -t PORT   one TCP connect to ADDR:PORT; refused or reset is fine (the SYN went out)
 *   -b BYTES  with -t: send BYTES over the connection, then read until the peer closes
 *   -l PORT   a sink: accept one TCP connection on ADDR:PORT and read it to the end
 *   -i COUNT  send COUNT ICMP echo requests (raw socket), waiting up to 1 s for each reply
 *   -w PORT   readiness probe: exit 0 if a TCP connect to ADDR:PORT succeeds, 1 if not
 *   -c        keep an AF_PACKET (ETH_P_ALL) socket open while sending, as a capture tool
 *             would: the kernel then clones every packet sent or received for it
 *
 * ADDR may be IPv6 for -u alone (the IPv6 UDP datagrams of the filter scenario).
 *
 * Actions run in the order u, t, i, w. Exit status: 0 if everything was sent (and the -w connect
 * succeeded), 1 otherwise, 2 on a usage error. One line per action goes to stdout.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t mark;
static struct sockaddr_in dst;

static int open_socket(int type, int proto)
{
	int fd = socket(AF_INET, type, proto);

	if (fd < 0) {
		perror("sendmark: socket");
		return -1;
	}
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		perror("sendmark: setsockopt(SO_MARK)");
		close(fd);
		return -1;
	}
	return fd;
}

static int send_udp(long count, int port)
{
	char payload[32] = "ipft sendmark udp";
	struct sockaddr_in to = dst;
	int fd = open_socket(SOCK_DGRAM, 0);
	long i;

	if (fd < 0)
		return 1;
	to.sin_port = htons(port);
	for (i = 0; i < count; i++) {
		if (sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			/* a previous datagram's ICMP port unreachable is reported here; retry once */
			if (errno != ECONNREFUSED ||
			    sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to,
				   sizeof(to)) < 0) {
				perror("sendmark: sendto");
				close(fd);
				return 1;
			}
		}
	}
	close(fd);
	printf("udp: sent %ld to %s:%d mark 0x%x\n", count, inet_ntoa(dst.sin_addr), port, mark);
	return 0;
}

static struct sockaddr_in6 dst6;

static int send_udp6(long count, int port)
{
	char payload[32] = "ipft sendmark udp6";
	struct sockaddr_in6 to = dst6;
	char text[INET6_ADDRSTRLEN] = "";
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	long i;

	if (fd < 0 || (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)) {
		perror("sendmark: udp6 socket");
		return 1;
	}
	to.sin6_port = htons(port);
	for (i = 0; i < count; i++) {
		if (sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) < 0 &&
		    (errno != ECONNREFUSED ||
		     sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) < 0)) {
			perror("sendmark: sendto(udp6)");
			close(fd);
			return 1;
		}
	}
	close(fd);
	inet_ntop(AF_INET6, &dst6.sin6_addr, text, sizeof(text));
	printf("udp6: sent %ld to [%s]:%d mark 0x%x\n", count, text, port, mark);
	return 0;
}

/* Returns 0 when connected, 1 when refused/reset/timed out, -1 on a local error. */
static long bulk;

/* Sends `bulk` bytes on fd, then reads until the peer closes; -1 on an error. */
static int send_bulk(int fd)
{
	static char buf[65536];
	long left = bulk;

	while (left > 0) {
		ssize_t n = send(fd, buf, left < (long)sizeof(buf) ? left : (long)sizeof(buf), 0);

		if (n < 0) {
			perror("sendmark: send");
			return -1;
		}
		left -= n;
	}
	shutdown(fd, SHUT_WR);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	return 0;
}

static int tcp_connect(int port)
{
	struct sockaddr_in to = dst;
	struct timeval tv = { .tv_sec = 2 };
	int fd = open_socket(SOCK_STREAM, 0), rc;

	if (fd < 0)
		return -1;
	to.sin_port = htons(port);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	rc = connect(fd, (struct sockaddr *)&to, sizeof(to));
	if (rc < 0 && errno != ECONNREFUSED && errno != ECONNRESET && errno != ETIMEDOUT &&
	    errno != EINPROGRESS) {
		perror("sendmark: connect");
		close(fd);
		return -1;
	}
	if (rc == 0 && bulk > 0 && send_bulk(fd) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return rc == 0 ? 0 : 1;
}

/* Accepts one connection on dst:port and reads it to the end; prints the byte count. */
static int tcp_sink(int port)
{
	static char buf[65536];
	struct sockaddr_in at = dst;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0), conn;
	long total = 0;
	ssize_t n;

	at.sin_port = htons(port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof(at)) < 0 || listen(fd, 1) < 0) {
		perror("sendmark: listen");
		return 1;
	}
	conn = accept(fd, NULL, NULL);
	if (conn < 0) {
		perror("sendmark: accept");
		return 1;
	}
	while ((n = recv(conn, buf, sizeof(buf), 0)) > 0)
		total += n;
	printf("sink: %ld bytes on port %d\n", total, port);
	close(conn);
	close(fd);
	return 0;
}

static uint16_t csum(const void *buf, size_t len)
{
	const uint16_t *p = buf;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	if (len)
		sum += *(const uint8_t *)p;
	sum = (sum >> 16) + (sum & 0xffff);
	sum += sum >> 16;
	return ~sum;
}

static int send_icmp(long count)
{
	int fd = open_socket(SOCK_RAW, IPPROTO_ICMP), replies = 0;
	long i;

	if (fd < 0)
		return 1;
	for (i = 0; i < count; i++) {
		struct icmphdr h = { .type = ICMP_ECHO };
		char reply[256];
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		h.un.echo.id = htons(getpid() & 0xffff);
		h.un.echo.sequence = htons(i + 1);
		h.checksum = csum(&h, sizeof(h));
		if (sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			perror("sendmark: sendto(icmp)");
			close(fd);
			return 1;
		}
		/* raw sockets also see our own request on loopback: read until a reply or 1 s */
		while (poll(&pfd, 1, 1000) > 0) {
			ssize_t n = recv(fd, reply, sizeof(reply), 0);
			struct iphdr *ip = (struct iphdr *)reply;
			struct icmphdr *r;

			if (n < (ssize_t)sizeof(*ip))
				break;
			r = (struct icmphdr *)(reply + ip->ihl * 4);
			if (n >= ip->ihl * 4 + (ssize_t)sizeof(*r) && r->type == ICMP_ECHOREPLY &&
			    r->un.echo.id == h.un.echo.id) {
				replies++;
				break;
			}
		}
	}
	close(fd);
	printf("icmp: sent %ld echo requests to %s mark 0x%x, %d replies\n", count,
	       inet_ntoa(dst.sin_addr), mark, replies);
	return 0;
}

static long number(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v > 0xffffffffUL) {
		fprintf(stderr, "sendmark: bad %s: %s\n", what, s);
		exit(2);
	}
	return (long)v;
}

int main(int argc, char **argv)
{
	long udp = 0, icmp = 0;
	int port = 9, tcp = -1, probe = -1, sink = -1, opt, rc = 0, tap = -1;

	while ((opt = getopt(argc, argv, "cm:u:p:t:b:l:i:w:")) != -1) {
		switch (opt) {
		case 'c':
			tap = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
			if (tap < 0) {
				perror("sendmark: AF_PACKET socket");
				return 1;
			}
			break;
		case 'm': mark = number(optarg, "mark"); break;
		case 'u': udp = number(optarg, "count"); break;
		case 'p': port = number(optarg, "port"); break;
		case 't': tcp = number(optarg, "port"); break;
		case 'b': bulk = number(optarg, "bytes"); break;
		case 'l': sink = number(optarg, "port"); break;
		case 'i': icmp = number(optarg, "count"); break;
		case 'w': probe = number(optarg, "port"); break;
		default:
			fprintf(stderr, "usage: sendmark [-c] [-m MARK] [-u COUNT] [-p PORT] [-t PORT "
					"[-b BYTES]] [-i COUNT] [-w PORT] ADDR | -l PORT ADDR\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "sendmark: need exactly one IPv4 address\n");
		return 2;
	}
	dst6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, argv[optind], &dst6.sin6_addr) == 1) {
		if (tcp >= 0 || icmp > 0 || probe >= 0 || sink >= 0 || udp <= 0) {
			fprintf(stderr, "sendmark: an IPv6 address goes with -u alone\n");
			return 2;
		}
		return send_udp6(udp, port);
	}
	dst.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[optind], &dst.sin_addr) != 1) {
		fprintf(stderr, "sendmark: not an IPv4 address: %s\n", argv[optind]);
		return 2;
	}

	if (sink >= 0)
		return tcp_sink(sink);
	if (udp > 0)
		rc |= send_udp(udp, port);
	if (tcp >= 0) {
		int r = tcp_connect(tcp);

		if (r < 0)
			rc = 1;
		else
			printf("tcp: connect to %s:%d mark 0x%x %s\n", argv[optind], tcp, mark,
			       r == 0 ? "accepted" : "refused");
	}
	if (icmp > 0)
		rc |= send_icmp(icmp);
	if (probe >= 0 && tcp_connect(probe) != 0)
		rc = 1;
	if (tap >= 0) {
		/* Let the clones reach the socket, then read them so they are freed. */
		struct pollfd pfd = { .fd = tap, .events = POLLIN };
		char buf[2048];
		int seen = 0;

		while (poll(&pfd, 1, 200) > 0 && recv(tap, buf, sizeof(buf), 0) >= 0)
			seen++;
		printf("tap: %d packets seen\n", seen);
		close(tap);
	}
	return rc;
}
