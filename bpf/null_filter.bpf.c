// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pcap-filter expression linked in when the user gives none: never
 * called (ipft_use_pcap is 0 and the verifier drops the call), but the body
 * needs the symbol.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

__hidden int ipft_pcap_match(const __u8 *win, const unsigned char *pkt, __u32 caplen,
			     __u32 wirelen, int l3)
{
	return 1;
}
