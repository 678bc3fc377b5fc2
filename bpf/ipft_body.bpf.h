/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The trace body every ipft program runs: select packets (mark, place,
 * pcap-filter expression), build the
 * event, let the extension fill its 64 bytes, and send the event to
 * userspace. Backends differ only in how they find ctx, skb and the probe id.
 */
#ifndef __IPFT_BODY_BPF_H__
#define __IPFT_BODY_BPF_H__

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "ipft_common.h"

/* Only the fields ipft reads; CO-RE relocates them against kernel BTF. */
struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} possible_net_t;

struct net_device {
	char name[16];
	int ifindex;
	possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sk_buff {
	__u32 mark;
	unsigned int len;
	unsigned int data_len;
	struct sk_buff *next;
	struct net_device *dev;
	__u16 mac_header;
	__u16 network_header;
	unsigned int tail; /* an offset from head on 64-bit kernels */
	unsigned char *head;
	unsigned char *data;
} __attribute__((preserve_access_index));

/*
 * Reads a field of a kernel struct. `direct` (a constant in each program)
 * says the pointer comes from BTF, a tp_btf or fentry/fexit argument: then
 * a plain load, which the verifier makes fault-safe, with no helper call on
 * the path every skb takes; else bpf_probe_read_kernel.
 */
#ifdef IPFT_READ_BY_CAST
/*
 * bpf/kprobe_multi_cast.bpf.c (Linux 6.2+): a plain address is read through
 * a read-only BTF cast, one fault-safe load instead of a helper call.
 */
#define IPFT_FIELD(direct, ptr, field)                                             \
	((direct) ? (ptr)->field : bpf_core_cast(ptr, typeof(*(ptr)))->field)
#else
#define IPFT_FIELD(direct, ptr, field) ((direct) ? (ptr)->field : BPF_CORE_READ(ptr, field))
#endif

/* Load-time configuration, written by userspace before the object loads. */
const volatile __u32 ipft_mark = 0;
const volatile __u32 ipft_mask = 0xffffffff;
/* Ring buffer when the kernel has it (5.8+), perf event array otherwise. */
const volatile __u8 ipft_use_ringbuf = 1;
/*
 * Wake the reader only once this many bytes wait in the ring buffer: one
 * wakeup per event costs more than the event. The reader also polls on a
 * short timeout, so a quiet trace still shows up promptly.
 */
const volatile __u64 ipft_ring_wakeup = 0;
/* --snaplen: packet bytes copied into an event that carries a snapshot. */
const volatile __u16 ipft_snaplen = 0;
/*
 * Set by userspace when tracing stops: the programs return at once, so the
 * last read of the buffer sees every event produced (and counted).
 */
volatile __u32 ipft_stopping = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by userspace */
} ipft_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} ipft_events SEC(".maps");

/* Per-CPU counters, indexed by IPFT_COUNT_*. */
#define IPFT_COUNT_LOST 0	   /* events the ring buffer could not take */
#define IPFT_COUNT_TRACK_FULL 1	   /* matching hits that found the tracking map full */
#define IPFT_COUNT_IDS 2	   /* packet ids handed out on this CPU */
#define IPFT_COUNT_EVENTS 3	   /* events produced (sent or lost) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} ipft_lost SEC(".maps");

/*
 * Packet tracking: once an skb matched the mark it is followed by its
 * address until it is freed, whatever its mark becomes (crossing a network
 * namespace clears it), and all its events carry one packet id. An entry not
 * touched for ipft_idle_ns is stale: its skb was freed where ipft could not
 * see it, and the address now belongs to another packet.
 */
const volatile __u8 ipft_track = 1;
const volatile __u64 ipft_idle_ns = 2000000000ULL;

struct ipft_tracked {
	__u64 id;
	__u64 parent;
	__u64 last_seen; /* read by userspace at offset 16 (src/session.rs) */
	__u64 shape;	 /* ipft_shape() at the last snapshot (--snaplen) */
	__u64 head;	 /* skb->head when tracking started: the packet's identity */
};

/*
 * The same skb address with another data buffer is another packet: the
 * kernel recycled the skb (the NAPI skb cache, deferred frees) where no
 * traced hook saw it freed. A packet whose buffer is reallocated
 * (pskb_expand_head) looks the same: it is followed on only if its mark still
 * matches, under a new id. A NULL head (an skb being freed) proves nothing.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized by userspace (--track-map-size) */
	__type(key, __u64);
	__type(value, struct ipft_tracked);
} ipft_tracked SEC(".maps");

/*
 * A counting filter in front of ipft_tracked: a slot per group of skb
 * addresses, raised before every entry is written and lowered after an
 * entry is deleted, so a slot at zero proves that no skb of its group is
 * followed. Most hits are skbs that are not followed (every skb the kernel
 * frees comes to the free points; a mark that never matches follows none),
 * and a load from this array costs far less than a hash lookup. A slot may
 * stay above its entries (an entry replaced, or swept by userspace): that
 * only costs a lookup. In its own section: userspace rewrites .bss.
 */
#define IPFT_TRACK_SLOTS 4096
__u32 ipft_track_slots[IPFT_TRACK_SLOTS] SEC(".data.ipft_slots");

static __always_inline __u32 *ipft_slot(__u64 key)
{
	/* skbs are at least 256-byte aligned slab objects. */
	return &ipft_track_slots[((key >> 8) ^ (key >> 20)) & (IPFT_TRACK_SLOTS - 1)];
}

/*
 * The skb's address as a plain number. A BTF-typed skb (tp_btf, fentry) is
 * a pointer to the verifier, which refuses shifting it: copied through a
 * helper, it is a number again. Only for writes and deletes, which are rare.
 */
static __always_inline __u64 ipft_number(__u64 key)
{
	__u64 copy = key;

	bpf_probe_read_kernel(&key, sizeof(key), &copy);
	return key;
}

/*
 * False only if `key` is certainly not followed. A BTF-typed skb (`direct`)
 * skips the filter: the lookup costs no more than the copy would.
 */
static __always_inline int ipft_maybe_tracked(__u64 key, int direct)
{
	return direct || *ipft_slot(key) != 0;
}

/* Writes `value` for `key` (new or replacing): 0 on success. */
static __always_inline long ipft_track_put(__u64 key, void *value)
{
	__sync_fetch_and_add(ipft_slot(ipft_number(key)), 1);
	return bpf_map_update_elem(&ipft_tracked, &key, value, BPF_ANY);
}

/* Deletes `key`'s entry: true if there was one. */
static __always_inline int ipft_track_del(__u64 key)
{
	if (bpf_map_delete_elem(&ipft_tracked, &key) != 0)
		return 0;
	__sync_fetch_and_add(ipft_slot(ipft_number(key)), -1);
	return 1;
}

/*
 * Where the skb struct can be recycled without any hook seeing it (the
 * tracepoint backend: the NAPI skb cache, deferred frees), the data buffer
 * is often recycled with it, at the same address. So the tracepoint backend
 * also watches the buffers: the heads of tracked packets are kept here, and
 * freeing one (kfree, kmem_cache_free) removes it. A tracked skb whose head
 * is no longer here has been freed: the address now belongs to another
 * packet. An LRU map: heads freed where no hook sees it (page fragments)
 * age out.
 */
const volatile __u8 ipft_watch_heads = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* resized by userspace (--track-map-size) */
	__type(key, __u64);
	__type(value, __u8);
} ipft_heads SEC(".maps");

static __always_inline void ipft_watch_head(__u64 head)
{
	__u8 live = 1;

	if (ipft_watch_heads && head)
		bpf_map_update_elem(&ipft_heads, &head, &live, BPF_ANY);
}

/* A data buffer was freed: the packets that had it are gone. */
static __always_inline void ipft_head_freed(__u64 ptr)
{
	if (bpf_map_lookup_elem(&ipft_heads, &ptr))
		bpf_map_delete_elem(&ipft_heads, &ptr);
}

static __always_inline int ipft_same_packet(struct ipft_tracked *t, struct sk_buff *skb,
					    int direct)
{
	__u64 head = (__u64)IPFT_FIELD(direct, skb, head);

	if (!head || !t->head)
		return 1;
	if (head != t->head)
		return 0;
	return !ipft_watch_heads || bpf_map_lookup_elem(&ipft_heads, &head);
}

/*
 * -t function_graph: an exit event belongs to the packet its entry event
 * was for, even when the skb was freed in between (and its address already
 * reused). Entries remember their packet here, per thread, skb and hook;
 * an exit without a traced entry is not an event.
 */
const volatile __u8 ipft_pair_exits = 0;

struct ipft_call {
	__u64 pid_tgid;
	__u64 skb;
	__u64 probe;
};

struct ipft_call_packet {
	__u64 id;
	__u64 parent;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ipft_call);
	__type(value, struct ipft_call_packet);
} ipft_calls SEC(".maps");

/*
 * The extension hook, resolved by libbpf's static linker: the user's object
 * or the built-in null module. Non-zero return drops the event.
 */
extern int module(void *ctx, struct sk_buff *skb, __u8 data[IPFT_DATA_SIZE]);

/* The probe id placeholder, as one `rX = imm` instruction userspace patches. */
static __always_inline __u64 ipft_probe_id(void)
{
	__u64 id;

	asm volatile("%0 = %1" : "=r"(id) : "i"(IPFT_PROBE_ID_MAGIC));
	return id;
}

/*
 * Counters and packet ids are per CPU, yet programs nest on one CPU (a
 * softirq or hard-IRQ program interrupting another between its load and its
 * store): every update is one atomic instruction. Handing out an id also
 * needs the value it added to, which is BPF_FETCH (Linux 5.12+); userspace
 * probes for it and sets ipft_atomic_ids. Without it (5.5-5.11) ids are
 * counted with a separate load, which nesting can in theory repeat.
 */
const volatile __u8 ipft_atomic_ids = 0;

/* Adds one to counter `idx` on this CPU. */
static __always_inline void ipft_count(__u32 idx)
{
	__u64 *count = bpf_map_lookup_elem(&ipft_lost, &idx);

	if (count)
		__sync_fetch_and_add(count, 1);
}

/* The inode of the network namespace of `dev`. */
static __always_inline unsigned int ipft_dev_netns(struct net_device *dev, int direct)
{
	struct net *net = IPFT_FIELD(direct, dev, nd_net.net);

	return net ? IPFT_FIELD(direct, net, ns.inum) : 0;
}

static __always_inline int ipft_mark_matches(struct sk_buff *skb, int direct)
{
	__u32 mark = IPFT_FIELD(direct, skb, mark);

	return (mark & ipft_mask) == (ipft_mark & ipft_mask);
}

/*
 * Packet selection: every criterion given must hold for an skb to start a
 * packet (once followed, a packet is not tested again). Each is switched on
 * in rodata, so an unused one costs nothing: the verifier drops its code.
 */
const volatile __u8 ipft_use_mark = 1;
const volatile __u8 ipft_use_pcap = 0;
/* --netns and --ifindex/--ifname: where the packet is seen (its device). */
const volatile __u32 ipft_netns = 0;
const volatile __u32 ipft_ifindex = 0;

/*
 * The pcap-filter expression: cBPF from libpcap, translated to C by
 * userspace, compiled and linked in (bpf/null_filter.bpf.c without one).
 * `pkt` is a kernel address with `caplen` readable bytes of a `wirelen` byte
 * packet, from the Ethernet header, or from the IP header when `l3`; `win`
 * holds its first IPFT_PCAP_WINDOW bytes (those below `caplen` are valid), so
 * most loads need no helper call. Non-zero means the packet matches.
 */
#define IPFT_PCAP_WINDOW 128
/* The bytes of the window the expression's loads reach (at most the above). */
const volatile __u32 ipft_pcap_window = IPFT_PCAP_WINDOW;
extern int ipft_pcap_match(const __u8 *win, const unsigned char *pkt, __u32 caplen,
			   __u32 wirelen, int l3);

/*
 * An IP header where the skb says its network header is, unless it is not
 * set yet (an skb being built, whose network_header is still 0): the length
 * in the header must be the bytes from there to the end of the skb.
 */
static __always_inline int ipft_l3_plausible(const __u8 *hdr, __u32 avail)
{
	if (hdr[0] >> 4 == 4)
		return (hdr[0] & 0xf) >= 5 && (((__u32)hdr[2] << 8) | hdr[3]) == avail;
	if (hdr[0] >> 4 == 6)
		return (((__u32)hdr[4] << 8) | hdr[5]) + 40 == avail;
	return 0;
}

/*
 * Runs the expression on the skb's bytes: from its MAC header when it has an
 * Ethernet-sized one before the network header, else from the network header
 * (a locally generated packet before its MAC header is pushed), as retis and
 * pwru do. Only the linear part can be read: a load beyond it fails the match.
 * The window is read past the linear part when that is short: the data
 * buffer is followed by its skb_shared_info, and those bytes are never used.
 */
struct ipft_skb_data {
	__u32 tail;
	__u32 end;
	unsigned char *head;
	unsigned char *data;
};

static __always_inline int ipft_pcap_matches(struct sk_buff *skb, int direct)
{
	struct ipft_skb_data d;
	__u16 hdr[2];
	unsigned char *head;
	__u32 data, mac, net, tail, len = IPFT_FIELD(direct, skb, len);
	__u8 win[IPFT_PCAP_WINDOW];
	__u32 start, avail;
	int l3;

	/*
	 * tail, end, head and data are neighbours in struct sk_buff, and so are
	 * network_header and mac_header: two reads instead of six on the path
	 * every packet not yet followed takes (the layout is checked against
	 * the kernel's BTF; the verifier drops the branch not taken).
	 */
	if (direct) {
		head = skb->head;
		data = skb->data - head;
		mac = skb->mac_header;
		net = skb->network_header;
		tail = skb->tail;
	} else if (bpf_core_field_offset(struct sk_buff, data) ==
		    bpf_core_field_offset(struct sk_buff, tail) + 16 &&
	    bpf_core_field_offset(struct sk_buff, head) ==
		    bpf_core_field_offset(struct sk_buff, tail) + 8 &&
	    bpf_core_field_offset(struct sk_buff, mac_header) ==
		    bpf_core_field_offset(struct sk_buff, network_header) + 2) {
		if (bpf_probe_read_kernel(&d, sizeof(d),
					  (void *)skb + bpf_core_field_offset(struct sk_buff, tail)) ||
		    bpf_probe_read_kernel(hdr, sizeof(hdr),
					  (void *)skb +
						  bpf_core_field_offset(struct sk_buff, network_header)))
			return 0;
		head = d.head;
		data = d.data - head;
		tail = d.tail;
		net = hdr[0];
		mac = hdr[1];
	} else {
		head = BPF_CORE_READ(skb, head);
		data = BPF_CORE_READ(skb, data) - head;
		mac = BPF_CORE_READ(skb, mac_header);
		net = BPF_CORE_READ(skb, network_header);
		tail = BPF_CORE_READ(skb, tail);
	}

	if (mac != 0xffff && net != 0xffff && net >= mac + 14) {
		start = mac;
		l3 = 0;
	} else if (net != 0xffff) {
		start = net;
		l3 = 1;
	} else {
		return 0;
	}
	if (tail <= start || start > len + data)
		return 0;
	avail = len + data - start;
	if (ipft_pcap_window > IPFT_PCAP_WINDOW ||
	    bpf_probe_read_kernel(win, ipft_pcap_window, head + start))
		return 0;
	if (l3 && !ipft_l3_plausible(win, avail))
		return 0;
	return ipft_pcap_match(win, head + start, tail - start, avail, l3);
}

static __always_inline int ipft_selects(struct sk_buff *skb, int direct)
{
	struct net_device *dev;

	if (ipft_use_mark && !ipft_mark_matches(skb, direct))
		return 0;
	if (ipft_netns || ipft_ifindex) {
		dev = IPFT_FIELD(direct, skb, dev);
		if (!dev)
			return 0;
		if (ipft_ifindex && IPFT_FIELD(direct, dev, ifindex) != ipft_ifindex)
			return 0;
		if (ipft_netns && ipft_dev_netns(dev, direct) != ipft_netns)
			return 0;
	}
	if (ipft_use_pcap && !ipft_pcap_matches(skb, direct))
		return 0;
	return 1;
}

/* Unique for the whole run: the CPU in the top 16 bits, its count below. */
static __always_inline __u64 ipft_new_id(void)
{
	__u32 idx = IPFT_COUNT_IDS;
	__u64 *count = bpf_map_lookup_elem(&ipft_lost, &idx), n;

	if (!count)
		return 0;
	if (ipft_atomic_ids) {
		n = __sync_fetch_and_add(count, 1) + 1;
	} else {
		__sync_fetch_and_add(count, 1);
		n = *count;
	}
	return ((__u64)bpf_get_smp_processor_id() << 48) | n;
}

/* Stops tracking `skb`; true if it was tracked. */
static __always_inline int ipft_forget(struct sk_buff *skb, int direct)
{
	__u64 key = (__u64)skb;

	/* Every skb freed in the system comes here: a lookup takes no lock, a delete does. */
	return ipft_track && ipft_maybe_tracked(key, direct) && bpf_map_lookup_elem(&ipft_tracked, &key) &&
	       ipft_track_del(key);
}

/*
 * Clones and copies (skb_clone, skb_copy, skb_segment, ...): the new skb of
 * a tracked packet is tracked too, with its own id and the source packet's
 * id as parent. The entry hook pushes the source skb and its packet on a
 * small per-thread stack, the return hook pops it and links what the
 * function returned (a list of segments for the GSO functions). A stack,
 * because clone points nest: skb_clone calls __skb_clone on some kernels,
 * skb_segment calls skb_clone, and an interrupt may clone between another
 * clone's entry and return; each return pops its own entry. Untracked
 * sources are pushed too, to keep the pairs in step.
 */
#define IPFT_CLONE_DEPTH 8
/* A stack older than this lost a return (a missed kretprobe): start over. */
#define IPFT_CLONE_STALE_NS 1000000000ULL

struct ipft_clone_src {
	__u64 skb;
	__u64 id;
};

struct ipft_clone_stack {
	__u32 depth;
	__u32 _pad;
	__u64 touched;
	struct ipft_clone_src src[IPFT_CLONE_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct ipft_clone_stack);
} ipft_clone_stacks SEC(".maps");

/*
 * The stack's owner: the thread, except for the idle tasks, which all have
 * pid 0 and interrupt on every CPU at once: those go by CPU.
 */
static __always_inline __u64 ipft_clone_owner(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	return pid_tgid ? pid_tgid : (1ULL << 63) | bpf_get_smp_processor_id();
}

#define IPFT_MAX_SEGS 32

static __always_inline void ipft_clone_enter(struct sk_buff *skb)
{
	__u64 owner = ipft_clone_owner(), key = (__u64)skb, now, id = 0;
	struct ipft_clone_stack *st, empty = {};
	struct ipft_tracked *t;
	__u32 depth;

	if (!ipft_track)
		return;
	now = bpf_ktime_get_ns();
	t = bpf_map_lookup_elem(&ipft_tracked, &key);
	if (t && now - t->last_seen <= ipft_idle_ns && ipft_same_packet(t, skb, 0))
		id = t->id;
	st = bpf_map_lookup_elem(&ipft_clone_stacks, &owner);
	if (!st) {
		bpf_map_update_elem(&ipft_clone_stacks, &owner, &empty, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&ipft_clone_stacks, &owner);
		if (!st)
			return;
	}
	depth = now - st->touched > IPFT_CLONE_STALE_NS ? 0 : st->depth;
	if (depth < IPFT_CLONE_DEPTH) {
		st->src[depth].skb = key;
		st->src[depth].id = id;
	}
	st->depth = depth + 1;
	st->touched = now;
}

static __always_inline void ipft_clone_return(__u64 ret)
{
	__u64 owner = ipft_clone_owner(), now;
	struct ipft_clone_stack *st;
	struct ipft_clone_src src;
	struct sk_buff *skb;
	__u32 depth;
	int i;

	if (!ipft_track)
		return;
	st = bpf_map_lookup_elem(&ipft_clone_stacks, &owner);
	if (!st || st->depth == 0)
		return;
	depth = --st->depth;
	if (depth >= IPFT_CLONE_DEPTH)
		return;
	src = st->src[depth];
	/* Not tracked, NULL, or an ERR_PTR. */
	if (!src.id || !ret || ret >= (__u64)-4095)
		return;
	now = bpf_ktime_get_ns();
	skb = (struct sk_buff *)ret;
	for (i = 0; i < IPFT_MAX_SEGS && skb; i++) {
		__u64 key = (__u64)skb;
		struct ipft_tracked *t, fresh = {};

		if (key != src.skb) {
			/* Nested GSO functions return the same segments: link them once. */
			t = bpf_map_lookup_elem(&ipft_tracked, &key);
			if (!t || t->parent != src.id || now - t->last_seen > ipft_idle_ns) {
				fresh.id = ipft_new_id();
				fresh.parent = src.id;
				fresh.last_seen = now;
				fresh.head = (__u64)BPF_CORE_READ(skb, head);
				if (ipft_track_put(key, &fresh) != 0)
					ipft_count(IPFT_COUNT_TRACK_FULL);
			}
		}
		skb = BPF_CORE_READ(skb, next);
	}
}

/*
 * The largest record: the event, its built-in fields and a snapshot. Built
 * here for the perf buffer; the ring buffer reserves the size in use.
 */
struct ipft_full_record {
	struct ipft_event ev;
	struct ipft_meta meta;
	struct ipft_snapshot snap;
	__u8 data[IPFT_SNAPLEN_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ipft_full_record);
} ipft_snap_scratch SEC(".maps");

/*
 * What a new snapshot is taken on: the length and where the headers are.
 * NAT, encapsulation, segmentation and the MAC header push all change it.
 */
static __always_inline __u64 ipft_shape(struct sk_buff *skb, int direct)
{
	__u64 len = IPFT_FIELD(direct, skb, len);
	__u64 mac = IPFT_FIELD(direct, skb, mac_header);
	__u64 net = IPFT_FIELD(direct, skb, network_header);

	return len | net << 32 | mac << 48;
}

/*
 * Built-in fields (--fields, --drops): a run that asks for any sends a
 * struct ipft_meta after every event, so every record of the run has one
 * size (the ring buffer needs it constant). Device names and the 5-tuple
 * are read only when asked for.
 */
const volatile __u8 ipft_meta_on = 0;
const volatile __u8 ipft_meta_dev = 0;
const volatile __u8 ipft_meta_tuple = 0;
/* The drop program's probe word, and whether this kernel passes a reason. */
const volatile __u32 ipft_drop_word = 0;
const volatile __u8 ipft_drop_has_reason = 0;

#define IPFT_META_SIZE (ipft_meta_on ? sizeof(struct ipft_meta) : 0)

/* The transport header at `l4` (off the packet at `head`) into `meta`. */
static __always_inline void ipft_read_ports(struct ipft_meta *meta, unsigned char *l4)
{
	__u8 hdr[14];

	if (meta->l4 != 6 && meta->l4 != 17 && meta->l4 != 1 && meta->l4 != 58)
		return;
	if (bpf_probe_read_kernel(hdr, meta->l4 == 6 ? 14 : 4, l4))
		return;
	if (meta->l4 == 1 || meta->l4 == 58) {
		meta->icmp_type = hdr[0];
		meta->icmp_code = hdr[1];
		return;
	}
	meta->sport = (__u16)hdr[0] << 8 | hdr[1];
	meta->dport = (__u16)hdr[2] << 8 | hdr[3];
	if (meta->l4 == 6)
		meta->tcp_flags = hdr[13];
}

/*
 * The 5-tuple from the IP header: where the skb's network header is, else
 * after an Ethernet header at its MAC header. IPv6 extension headers are not
 * walked (the next header is reported as the protocol, without ports), nor
 * are IPv4 fragments after the first.
 */
static __always_inline void ipft_read_tuple(struct sk_buff *skb, struct ipft_meta *meta)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u32 mac = BPF_CORE_READ(skb, mac_header);
	__u32 net = BPF_CORE_READ(skb, network_header);
	__u8 ip[40];
	__u16 ethertype;

	if (!head)
		return;
	if (net == 0xffff || bpf_probe_read_kernel(ip, sizeof(ip), head + net) ||
	    (ip[0] >> 4 != 4 && ip[0] >> 4 != 6)) {
		if (mac == 0xffff || bpf_probe_read_kernel(&ethertype, 2, head + mac + 12))
			return;
		if (ethertype == __builtin_bswap16(0x0800) || ethertype == __builtin_bswap16(0x86dd))
			net = mac + 14;
		else
			return;
		if (bpf_probe_read_kernel(ip, sizeof(ip), head + net))
			return;
	}
	if (ip[0] >> 4 == 4) {
		__u32 ihl = (ip[0] & 0xf) * 4;

		if (ihl < 20)
			return;
		meta->l3 = 4;
		meta->l4 = ip[9];
		__builtin_memcpy(meta->saddr, &ip[12], 4);
		__builtin_memcpy(meta->daddr, &ip[16], 4);
		/* A later fragment has no transport header. */
		if ((((__u16)ip[6] << 8 | ip[7]) & 0x1fff) == 0)
			ipft_read_ports(meta, head + net + ihl);
	} else if (ip[0] >> 4 == 6) {
		meta->l3 = 6;
		meta->l4 = ip[6];
		__builtin_memcpy(meta->saddr, &ip[8], 16);
		__builtin_memcpy(meta->daddr, &ip[24], 16);
		ipft_read_ports(meta, head + net + 40);
	}
}

static __always_inline void ipft_fill_meta(struct sk_buff *skb, struct ipft_meta *meta)
{
	struct net_device *dev;

	if (ipft_meta_dev) {
		dev = BPF_CORE_READ(skb, dev);
		if (dev)
			bpf_probe_read_kernel_str(meta->ifname, sizeof(meta->ifname), dev->name);
	}
	if (ipft_meta_tuple)
		ipft_read_tuple(skb, meta);
}

/*
 * Fills a snapshot header and copies the bytes into `data` (room for
 * ipft_snaplen bytes). From the MAC header when the skb has an Ethernet-sized
 * one before its network header, else from the network header when that
 * starts an IPv4 or IPv6 packet. Only the linear part is copied. Returns 0
 * when there is nothing to capture.
 */
static __always_inline int ipft_snapshot(struct sk_buff *skb, struct ipft_snapshot *snap,
					 __u8 *data)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u32 off_data = BPF_CORE_READ(skb, data) - head;
	__u32 mac = BPF_CORE_READ(skb, mac_header);
	__u32 net = BPF_CORE_READ(skb, network_header);
	__u32 tail = BPF_CORE_READ(skb, tail);
	__u32 len = BPF_CORE_READ(skb, len);
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	__u32 start;
	__u64 cap;
	__u8 version = 0;

	if (mac != 0xffff && net != 0xffff && net >= mac + 14) {
		start = mac;
		snap->link = IPFT_LINK_ETHERNET;
	} else if (net != 0xffff) {
		start = net;
		snap->link = IPFT_LINK_RAW;
		bpf_probe_read_kernel(&version, 1, head + start);
		if (version >> 4 != 4 && version >> 4 != 6)
			return 0;
	} else {
		return 0;
	}
	if (tail <= start)
		return 0;
	cap = (__u64)tail - start;
	/* The caller checked ipft_snaplen <= IPFT_SNAPLEN_MAX; the verifier knows its value. */
	if (cap > ipft_snaplen)
		cap = ipft_snaplen;
	/* Keep clang from folding the bound away from the read it guards. */
	asm volatile("" : "+r"(cap));
	if (bpf_probe_read_kernel(data, cap, head + start) != 0)
		return 0;
	snap->cap_len = cap;
	snap->_pad = 0;
	snap->wire_len = (__s64)len + off_data - start > cap ? len + off_data - start : cap;
	__builtin_memset(snap->ifname, 0, sizeof(snap->ifname));
	if (dev)
		bpf_probe_read_kernel_str(snap->ifname, sizeof(snap->ifname), dev->name);
	return 1;
}

/*
 * The consumer is woken when the ring is filling (ipft_ring_wakeup bytes
 * wait), and otherwise at most once per IPFT_WAKEUP_NS: an idle consumer
 * sleeps without a timeout, so the first event after a quiet spell must wake
 * it; while events flow it looks every 50 ms anyway (src/session.rs). A
 * wakeup is an interrupt: while the ring stays above the mark, at most one
 * per IPFT_FILLING_WAKEUP_NS, not one per event.
 */
#define IPFT_WAKEUP_NS 50000000ULL
#define IPFT_FILLING_WAKEUP_NS 1000000LL
__u64 ipft_last_wakeup = 0;

/* `now`: the event's own time, read moments ago (no second clock read). */
static __always_inline __u64 ipft_wakeup_flags(__u64 now)
{
	/* Signed: another CPU may have stored a later time than ours. */
	__s64 since = now - ipft_last_wakeup;

	if (since < IPFT_FILLING_WAKEUP_NS)
		return BPF_RB_NO_WAKEUP;
	if (since < (__s64)IPFT_WAKEUP_NS &&
	    bpf_ringbuf_query(&ipft_ring, BPF_RB_AVAIL_DATA) < ipft_ring_wakeup)
		return BPF_RB_NO_WAKEUP;
	ipft_last_wakeup = now;
	return BPF_RB_FORCE_WAKEUP;
}

/*
 * Sends `ev` with a snapshot of `skb` (and `meta` first when the run has
 * built-in fields); false if no snapshot could be taken.
 */
static __always_inline int ipft_submit_snapshot(void *ctx, struct ipft_event *ev,
						struct ipft_meta *meta, struct sk_buff *skb)
{
	__u32 size = sizeof(struct ipft_event) + IPFT_META_SIZE + sizeof(struct ipft_snapshot) +
		     ipft_snaplen;
	struct ipft_full_record *full;
	void *rec;
	__u32 zero = 0;

	if (ipft_snaplen > IPFT_SNAPLEN_MAX)
		return 0;
	if (ipft_use_ringbuf) {
		rec = bpf_ringbuf_reserve(&ipft_ring, size, 0);
		if (!rec) {
			ipft_count(IPFT_COUNT_EVENTS);
			ipft_count(IPFT_COUNT_LOST);
			return 1;
		}
		if (!ipft_snapshot(skb, (void *)(rec + sizeof(*ev) + IPFT_META_SIZE),
				   rec + sizeof(*ev) + IPFT_META_SIZE + sizeof(struct ipft_snapshot))) {
			bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);
			return 0;
		}
		ipft_count(IPFT_COUNT_EVENTS);
		*(struct ipft_event *)rec = *ev;
		if (ipft_meta_on)
			*(struct ipft_meta *)(rec + sizeof(*ev)) = *meta;
		bpf_ringbuf_submit(rec, ipft_wakeup_flags(ev->tstamp));
		return 1;
	}
	full = bpf_map_lookup_elem(&ipft_snap_scratch, &zero);
	if (!full)
		return 0;
	rec = full;
	if (!ipft_snapshot(skb, (void *)(rec + sizeof(*ev) + IPFT_META_SIZE),
			   rec + sizeof(*ev) + IPFT_META_SIZE + sizeof(struct ipft_snapshot)))
		return 0;
	ipft_count(IPFT_COUNT_EVENTS);
	*(struct ipft_event *)rec = *ev;
	if (ipft_meta_on)
		*(struct ipft_meta *)(rec + sizeof(*ev)) = *meta;
	if (bpf_perf_event_output(ctx, &ipft_events, BPF_F_CURRENT_CPU, rec, size) != 0)
		ipft_count(IPFT_COUNT_LOST);
	return 1;
}

/* Sends `ev` (and `meta` when the run has built-in fields). */
static __always_inline void ipft_submit(void *ctx, struct ipft_event *ev, struct ipft_meta *meta)
{
	struct ipft_full_record *full;
	__u32 zero = 0;
	void *rec;
	long err;

	ipft_count(IPFT_COUNT_EVENTS);
	/*
	 * Reserved and copied here, not by bpf_ringbuf_output: the program's
	 * copy is 16 loads and stores, the helper's the kernel's memcpy, a
	 * `rep movsb` where the CPU says it is fast, which under emulation (TCG)
	 * it is not (program time per event 0.78x in the 6.12 guest).
	 */
	if (ipft_use_ringbuf) {
		rec = bpf_ringbuf_reserve(&ipft_ring, sizeof(*ev) + IPFT_META_SIZE, 0);
		if (!rec) {
			ipft_count(IPFT_COUNT_LOST);
			return;
		}
		*(struct ipft_event *)rec = *ev;
		if (ipft_meta_on)
			*(struct ipft_meta *)(rec + sizeof(*ev)) = *meta;
		bpf_ringbuf_submit(rec, ipft_wakeup_flags(ev->tstamp));
		return;
	}
	if (ipft_meta_on) {
		/* The perf buffer (before 5.8) takes one contiguous record. */
		full = bpf_map_lookup_elem(&ipft_snap_scratch, &zero);
		if (!full) {
			ipft_count(IPFT_COUNT_LOST);
			return;
		}
		__builtin_memcpy(&full->ev, ev, sizeof(*ev));
		__builtin_memcpy(&full->meta, meta, sizeof(*meta));
		err = bpf_perf_event_output(ctx, &ipft_events, BPF_F_CURRENT_CPU, full,
					    sizeof(*ev) + sizeof(*meta));
	} else {
		err = bpf_perf_event_output(ctx, &ipft_events, BPF_F_CURRENT_CPU, ev, sizeof(*ev));
	}
	/*
	 * Counted here: the kernel's PERF_RECORD_LOST only comes once the
	 * buffer has room again, never for the end of a burst.
	 */
	if (err)
		ipft_count(IPFT_COUNT_LOST);
}

/*
 * Finds the packet id of `skb`: its tracked id, or a new one if its mark
 * matches. Returns 0 when the skb is not traced.
 */
static __always_inline __u64 ipft_packet_id(struct sk_buff *skb, __u64 *time, __u64 *parent,
					    int *snapshot, int direct)
{
	struct ipft_tracked *t, fresh = {};
	__u64 key = (__u64)skb, shape, now;
	int selected = 0;

	/* The clock is read only for packets that are traced: not per hit. */
	if (!ipft_track) {
		*snapshot = ipft_snaplen != 0;
		if (!ipft_selects(skb, direct))
			return 0;
		*time = bpf_ktime_get_ns();
		return key;
	}
	t = ipft_maybe_tracked(key, direct) ? bpf_map_lookup_elem(&ipft_tracked, &key) : NULL;
	if (!t) {
		if (!ipft_selects(skb, direct))
			return 0;
		selected = 1;
	}
	now = bpf_ktime_get_ns();
	*time = now;
	if (t && now - t->last_seen <= ipft_idle_ns && ipft_same_packet(t, skb, direct)) {
		t->last_seen = now;
		*parent = t->parent;
		if (ipft_snaplen) {
			shape = ipft_shape(skb, direct);
			/* A clone's first event has shape 0: always a snapshot. */
			*snapshot = shape != t->shape;
			t->shape = shape;
		}
		return t->id;
	}

	if (!selected && !ipft_selects(skb, direct)) {
		ipft_track_del(key);
		return 0;
	}
	fresh.id = ipft_new_id();
	fresh.last_seen = now;
	fresh.head = (__u64)IPFT_FIELD(direct, skb, head);
	ipft_watch_head(fresh.head);
	if (ipft_snaplen) {
		fresh.shape = ipft_shape(skb, direct);
		*snapshot = 1;
	}
	if (ipft_track_put(key, &fresh) != 0)
		ipft_count(IPFT_COUNT_TRACK_FULL);
	return fresh.id;
}

/* `skb` may be a packet being followed (false: certainly not). */
static __always_inline int ipft_followed(struct sk_buff *skb, int direct)
{
	return ipft_track && ipft_maybe_tracked((__u64)skb, direct);
}

/*
 * False if a hit of `skb` is certainly not an event: the skb is not
 * followed and (where the hook may start a packet: `may_start`) does not
 * start one. Nearly every hit ends here.
 */
static __always_inline int ipft_may_be_event(struct sk_buff *skb, int direct, int may_start)
{
	return ipft_followed(skb, direct) || (may_start && ipft_selects(skb, direct));
}

/*
 * The same for a hit at a traced hook without flags (no clone, free or
 * silent point): what a hook that does not know its probe yet can decide.
 */
static __always_inline int ipft_may_trace(struct sk_buff *skb, int direct)
{
	return skb && !ipft_stopping && ipft_may_be_event(skb, direct, 1);
}

/*
 * A hit of `probe` by `skb`. `drop` is set by the drop program (the
 * kfree_skb tracepoint), with the kernel's reason and the dropping code.
 */
static __always_inline int ipft_trace_hit(void *ctx, struct sk_buff *skb, __u64 probe,
					  __u8 is_return, int direct, int drop, __u32 reason,
					  __u64 location)
{
	struct ipft_meta meta;
	struct ipft_event ev;
	__u64 now, id, parent = 0;
	struct net_device *dev;
	int snapshot = 0;

	if (!skb)
		return 0;
	/*
	 * A clone point's entry shares the hook of the traced function (or of
	 * a silent one): one hook where there were two. Like its return, it
	 * runs even while stopping, so entries and returns stay paired.
	 */
	if (!direct && (probe & IPFT_PROBE_CLONE))
		ipft_clone_enter(skb);
	if (ipft_stopping)
		return 0;
	/* Decided before any lookup, zeroed struct or clock. */
	if (!(ipft_pair_exits && is_return) &&
	    !ipft_may_be_event(skb, direct, !(probe & IPFT_PROBE_SILENT)))
		return 0;

	if (probe & IPFT_PROBE_SILENT) {
		/* A free point outside the traced hooks: end the packet quietly. */
		if (!(probe & IPFT_PROBE_FORGET) || !ipft_forget(skb, direct))
			return 0;
		__builtin_memset(&ev, 0, sizeof(ev));
		ev.packet_id = (__u64)skb; /* userspace ends the packet by its skb */
		ev.skb = (__u64)skb;
		ev.tstamp = bpf_ktime_get_ns();
		ev.flags = IPFT_EVENT_END | IPFT_EVENT_SILENT;
		if (ipft_meta_on) {
			__builtin_memset(&meta, 0, sizeof(meta));
			ev.flags |= IPFT_EVENT_META;
		}
		ipft_submit(ctx, &ev, &meta);
		return 0;
	}

	if (ipft_pair_exits) {
		struct ipft_call call = { bpf_get_current_pid_tgid(), (__u64)skb, probe };
		struct ipft_call_packet *pkt, fresh;

		if (is_return) {
			pkt = bpf_map_lookup_elem(&ipft_calls, &call);
			if (!pkt)
				return 0;
			id = pkt->id;
			parent = pkt->parent;
			bpf_map_delete_elem(&ipft_calls, &call);
			now = bpf_ktime_get_ns();
		} else {
			id = ipft_packet_id(skb, &now, &parent, &snapshot, direct);
			if (!id)
				return 0;
			fresh.id = id;
			fresh.parent = parent;
			bpf_map_update_elem(&ipft_calls, &call, &fresh, BPF_ANY);
		}
	} else {
		id = ipft_packet_id(skb, &now, &parent, &snapshot, direct);
		if (!id)
			return 0;
	}

	__builtin_memset(&ev, 0, sizeof(ev));
	ev.packet_id = id;
	ev.skb = (__u64)skb;
	ev.parent = parent;
	ev.tstamp = now;
	ev.probe_id = probe & IPFT_PROBE_ID_MASK;
	ev.processor_id = bpf_get_smp_processor_id();
	ev.is_return = is_return;
	ev.mark = IPFT_FIELD(direct, skb, mark);
	ev.len = IPFT_FIELD(direct, skb, len);
	dev = IPFT_FIELD(direct, skb, dev);
	if (dev) {
		ev.ifindex = IPFT_FIELD(direct, dev, ifindex);
		ev.netns = ipft_dev_netns(dev, direct);
	}

	if (module(ctx, skb, ev.data) == 0) {
		if ((probe & IPFT_PROBE_FORGET) && ipft_forget(skb, direct))
			ev.flags |= IPFT_EVENT_END;
		if (ipft_meta_on) {
			__builtin_memset(&meta, 0, sizeof(meta));
			ev.flags |= IPFT_EVENT_META;
			ipft_fill_meta(skb, &meta);
			if (drop) {
				ev.flags |= IPFT_EVENT_DROP;
				meta.drop_reason = reason;
				meta.location = location;
			}
		}
		if (!snapshot || !ipft_submit_snapshot(ctx, &ev, &meta, skb))
			ipft_submit(ctx, &ev, &meta);
	} else if (probe & IPFT_PROBE_FORGET) {
		ipft_forget(skb, direct);
	}
	return 0;
}

/* A hit where the skb is a plain address (kprobes, raw tracepoints). */
static __always_inline int ipft_trace(void *ctx, struct sk_buff *skb, __u64 probe,
				      __u8 is_return)
{
	return ipft_trace_hit(ctx, skb, probe, is_return, 0, 0, 0, 0);
}

/* A hit where the skb is a BTF-typed argument (tp_btf, fentry, fexit). */
static __always_inline int ipft_trace_btf(void *ctx, struct sk_buff *skb, __u64 probe,
					  __u8 is_return)
{
	return ipft_trace_hit(ctx, skb, probe, is_return, 1, 0, 0, 0);
}

/*
 * --drops: the kfree_skb tracepoint, in every backend's object: the kernel
 * drops an skb (consume_skb has a tracepoint of its own). A raw tracepoint:
 * its arguments are (skb, location[, reason]) on every kernel, the reason
 * only since Linux 5.17 (userspace reads which from BTF).
 */
#define IPFT_DROP_PROGRAM                                                          \
	SEC("raw_tp/kfree_skb")                                                    \
	int ipft_drop(struct bpf_raw_tracepoint_args *ctx)                         \
	{                                                                          \
		__u32 reason = 0;                                                  \
                                                                                   \
		if (ipft_drop_has_reason)                                          \
			reason = ctx->args[2];                                     \
		return ipft_trace_hit(ctx, (struct sk_buff *)ctx->args[0],         \
				      ipft_drop_word, 0, 0, 1, reason, ctx->args[1]); \
	}

#endif /* __IPFT_BODY_BPF_H__ */
