/* What this extension adds to every event: its length. */
struct event {
	unsigned int len;
} __ipft_event_struct;

/*
 * Declare only the sk_buff fields you read: with CO-RE, libbpf relocates
 * each access against the running kernel's own struct sk_buff at load time.
 */
struct sk_buff {
	unsigned int len;
};

__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64])
{
	struct event *ev = (struct event *)data;

	ev->len = BPF_CORE_READ(skb, len);
	return 0; /* non-zero would drop the event */
}
