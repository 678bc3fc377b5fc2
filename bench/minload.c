// Minimal reference loader for the guest benchmark (bench/guest): creates the same kind of
// links ipft creates, for the same functions, with a trivial program (r0 = 0; exit) and no
// other logic, so ipft's attach/detach times can be compared with what the kernel itself costs.
//
//   minload kprobe-multi|kprobe|fentry FUNCLIST   attach every function, then detach; prints
//       "minload backend=B listed=N attached=A failed=F links=L attach_s=X detach_s=Y"
//       (kprobe-multi adds "by=addrs" or "by=syms"; the first failures go to stderr)
//   minload session ERRFILE CMD ARGS...           run CMD (stdout to /dev/null, stderr copied to
//       ERRFILE) until it prints "Trace ready!", SIGINT it, wait; prints
//       "ready_s=X exit_s=Y gone_s=Z rc=N" (start to ready, SIGINT to reaped = the prompt
//       back, SIGINT to the end of ipft's background detach helper = every hook gone)
//   minload time OUTFILE CMD ARGS...              run CMD (stdout to OUTFILE), print
//       "elapsed_s=X rc=N"
//
// With MINLOAD_HOLD set in the environment, the links stay until SIGINT (for packet rates).
//
// FUNCLIST has one function per line: "name [module [address]]" (no module or "vmlinux" = core
// kernel; the address, hex as `ipft -l` prints it, is used by kprobe-multi only).
// The session/time helpers exist because the guest has only busybox, whose date has no
// sub-second clock; timing in C also avoids a polling shell loop competing for the two vCPUs.
//
// Backends, as ipft does them (src/attach/), minus everything ipft adds on top:
//  - kprobe-multi: one BPF_PROG_TYPE_KPROBE program (BPF_TRACE_KPROBE_MULTI), one link for
//    every function, by address when the list has addresses (as ipft does: the kernel then
//    skips its kallsyms walk, and a name that two static functions share is not ambiguous),
//    else by name; a refused batch (one bad function fails the whole link) is split in halves
//    until the offenders are isolated;
//  - kprobe: one kprobe program, per function a perf_event_open on the kprobe PMU and a
//    BPF_PERF_EVENT link;
//  - fentry: per function a BPF_PROG_TYPE_TRACING program loaded against the function's BTF id
//    (found by walking /sys/kernel/btf/vmlinux and the module's split BTF, before the clock
//    starts: ipft does that during discovery), then a link.
// Detach closes every fd serially (link, then perf event or program), one function after the
// other: this is the reference "one thread, no batching" cost. ipft closes on many threads so
// that concurrent closes share RCU grace periods; a ratio below 1 shows that gain.
//
// Build: gcc -O2 -Wall -static -o minload bench/minload.c (UAPI headers from /usr/include).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "minload: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* ---- function list ---------------------------------------------------------------------- */

struct func {
	char *name;
	char *module; /* NULL for vmlinux */
	unsigned long addr; /* 0 if the list has none */
	int ok;
};

static struct func *funcs;
static int nfuncs;

static void read_list(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int cap = 0;
	if (!f)
		die("cannot open function list %s", path);
	while (fgets(line, sizeof(line), f)) {
		char name[256], mod[256];
		unsigned long addr = 0;
		int n = sscanf(line, "%255s %255s %lx", name, mod, &addr);
		if (n < 1 || name[0] == '#')
			continue;
		if (nfuncs == cap) {
			cap = cap ? cap * 2 : 1024;
			funcs = realloc(funcs, cap * sizeof(*funcs));
			if (!funcs)
				die("%s", "out of memory");
		}
		funcs[nfuncs].name = strdup(name);
		funcs[nfuncs].module = (n >= 2 && strcmp(mod, "vmlinux")) ? strdup(mod) : NULL;
		funcs[nfuncs].addr = n == 3 ? addr : 0;
		funcs[nfuncs].ok = 0;
		nfuncs++;
	}
	fclose(f);
	if (!nfuncs)
		die("no function in %s", path);
}

/* Failures: the first few are printed with their reason, the rest only counted. */
static int failed;
static void failure(const char *name, const char *what, int err)
{
	if (++failed <= 10)
		fprintf(stderr, "minload: %s: %s: %s\n", name, what, strerror(err));
	else if (failed == 11)
		fprintf(stderr, "minload: (further failures only counted)\n");
}

/* ---- programs --------------------------------------------------------------------------- */

static const struct bpf_insn trivial[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 }, /* r0 = 0 */
	{ .code = BPF_JMP | BPF_EXIT },                                        /* exit */
};

static int prog_load(enum bpf_prog_type type, enum bpf_attach_type eat, __u32 btf_id, int btf_obj_fd)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.insns = (__u64)(uintptr_t)trivial;
	a.insn_cnt = sizeof(trivial) / sizeof(trivial[0]);
	a.license = (__u64)(uintptr_t) "GPL";
	a.expected_attach_type = eat;
	a.attach_btf_id = btf_id;
	a.attach_btf_obj_fd = btf_obj_fd > 0 ? btf_obj_fd : 0;
	return sys_bpf(BPF_PROG_LOAD, &a);
}

/* ---- fds to close at detach, in order --------------------------------------------------- */

static int *fds;
static int nfds, capfds;
static void keep(int fd)
{
	if (nfds == capfds) {
		capfds = capfds ? capfds * 2 : 4096;
		fds = realloc(fds, capfds * sizeof(*fds));
		if (!fds)
			die("%s", "out of memory");
	}
	fds[nfds++] = fd;
}

/* ---- kprobe-multi ----------------------------------------------------------------------- */

static int links;
static int by_addr; /* every function has an address: attach by address, as ipft does */

/* One link for fs[0..cnt); syms or addrs (whichever by_addr says) parallel to fs. */
static void kmulti_batch(int prog, const char **syms, const unsigned long *addrs, struct func **fs, int cnt)
{
	union bpf_attr a;
	int fd, e, i, h = cnt / 2;
	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = prog;
	a.link_create.attach_type = BPF_TRACE_KPROBE_MULTI;
	if (by_addr)
		a.link_create.kprobe_multi.addrs = (__u64)(uintptr_t)addrs;
	else
		a.link_create.kprobe_multi.syms = (__u64)(uintptr_t)syms;
	a.link_create.kprobe_multi.cnt = cnt;
	fd = sys_bpf(BPF_LINK_CREATE, &a);
	if (fd >= 0) {
		keep(fd);
		links++;
		for (i = 0; i < cnt; i++)
			fs[i]->ok = 1;
		return;
	}
	e = errno;
	if (cnt > 1 && (e == ESRCH || e == EINVAL || e == ENOENT || e == EADDRNOTAVAIL || e == EBUSY)) {
		kmulti_batch(prog, syms, addrs, fs, h);
		kmulti_batch(prog, syms + h, addrs + h, fs + h, cnt - h);
		return;
	}
	for (i = 0; i < cnt; i++)
		failure(syms[i], "kprobe-multi link", e);
}

static void attach_kprobe_multi(void)
{
	const char **syms = calloc(nfuncs, sizeof(*syms));
	unsigned long *addrs = calloc(nfuncs, sizeof(*addrs));
	struct func **fs = calloc(nfuncs, sizeof(*fs));
	int prog, i;
	prog = prog_load(BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, 0, 0);
	if (prog < 0)
		die("kprobe-multi program load failed: %s", strerror(errno));
	by_addr = 1;
	for (i = 0; i < nfuncs; i++) {
		syms[i] = funcs[i].name;
		addrs[i] = funcs[i].addr;
		fs[i] = &funcs[i];
		by_addr &= funcs[i].addr != 0;
	}
	kmulti_batch(prog, syms, addrs, fs, nfuncs);
	keep(prog);
	free(syms);
	free(addrs);
	free(fs);
}

/* ---- kprobe ----------------------------------------------------------------------------- */

static void attach_kprobe(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/kprobe/type", "r");
	int pmu = -1, prog, i;
	if (!f || fscanf(f, "%d", &pmu) != 1)
		die("%s", "no kprobe PMU (/sys/bus/event_source/devices/kprobe/type): kernel without CONFIG_KPROBES?");
	fclose(f);
	prog = prog_load(BPF_PROG_TYPE_KPROBE, 0, 0, 0);
	if (prog < 0)
		die("kprobe program load failed: %s", strerror(errno));
	for (i = 0; i < nfuncs; i++) {
		struct perf_event_attr pa;
		union bpf_attr a;
		int pfd, lfd;
		memset(&pa, 0, sizeof(pa));
		pa.type = pmu;
		pa.size = sizeof(pa);
		pa.config1 = (__u64)(uintptr_t)funcs[i].name; /* kprobe_func */
		pfd = syscall(__NR_perf_event_open, &pa, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
		if (pfd < 0) {
			failure(funcs[i].name, "perf_event_open", errno);
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.link_create.prog_fd = prog;
		a.link_create.target_fd = pfd;
		a.link_create.attach_type = BPF_PERF_EVENT;
		lfd = sys_bpf(BPF_LINK_CREATE, &a);
		if (lfd < 0) {
			failure(funcs[i].name, "perf link", errno);
			close(pfd);
			continue;
		}
		keep(lfd);
		keep(pfd);
		links++;
		funcs[i].ok = 1;
	}
	keep(prog);
}

/* ---- BTF: function name -> type id ------------------------------------------------------ */

struct btf {
	char *data;
	const char *types, *strs; /* type section; this object's strings */
	__u32 types_len, str_len;
	__u32 first_id, nr; /* ids first_id .. first_id + nr - 1 */
	__u32 base_str_len; /* name offsets below this are the base's strings */
	const struct btf *base;
	struct named { const char *name; __u32 id; } *funcs; /* BTF_KIND_FUNC, sorted by name */
	__u32 nfuncs;
};

struct btf_hdr {
	__u16 magic;
	__u8 version, flags;
	__u32 hdr_len, type_off, type_len, str_off, str_len;
};

struct btf_t {
	__u32 name_off, info, size_or_type;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 20, n = 0, r;
	char *buf;
	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Bytes after a btf_type for its kind (include/uapi/linux/btf.h). */
static long btf_extra(__u32 info)
{
	__u32 kind = (info >> 24) & 0x1f, vlen = info & 0xffff;
	switch (kind) {
	case 1: return 4;              /* INT */
	case 3: return 12;             /* ARRAY */
	case 4: case 5: return vlen * 12L; /* STRUCT, UNION */
	case 6: return vlen * 8L;      /* ENUM */
	case 13: return vlen * 8L;     /* FUNC_PROTO */
	case 14: return 4;             /* VAR */
	case 15: return vlen * 12L;    /* DATASEC */
	case 17: return 4;             /* DECL_TAG */
	case 19: return vlen * 12L;    /* ENUM64 */
	case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18: return 0;
	default: return -1;
	}
}

static const char *btf_name(const struct btf *b, __u32 off)
{
	if (off < b->base_str_len)
		return b->base->strs + off;
	off -= b->base_str_len;
	return off < b->str_len ? b->strs + off : "";
}

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->id > y->id) - (x->id < y->id); /* the first id of a name wins */
}

static void btf_close(struct btf *b)
{
	free(b->data);
	free(b->funcs);
	memset(b, 0, sizeof(*b));
}

static int btf_open(struct btf *b, const char *path, const struct btf *base)
{
	size_t len;
	const struct btf_hdr *h;
	const char *p, *end;
	memset(b, 0, sizeof(*b));
	b->data = slurp(path, &len);
	if (!b->data || len < sizeof(*h))
		return -1;
	h = (const struct btf_hdr *)b->data;
	if (h->magic != 0xeB9F || h->hdr_len + h->str_off + h->str_len > len)
		return -1;
	b->types = b->data + h->hdr_len + h->type_off;
	b->types_len = h->type_len;
	b->strs = b->data + h->hdr_len + h->str_off;
	b->str_len = h->str_len;
	b->base = base;
	b->first_id = base ? base->first_id + base->nr : 1; /* id 0 is void */
	b->base_str_len = base ? base->str_len : 0;
	b->funcs = malloc((b->types_len / sizeof(struct btf_t) + 1) * sizeof(*b->funcs));
	if (!b->funcs)
		return -1;
	for (p = b->types, end = b->types + b->types_len; p < end; b->nr++) {
		const struct btf_t *t = (const struct btf_t *)p;
		long extra = btf_extra(t->info);
		if (extra < 0)
			return -1;
		if (((t->info >> 24) & 0x1f) == 12) { /* BTF_KIND_FUNC */
			b->funcs[b->nfuncs].name = btf_name(b, t->name_off);
			b->funcs[b->nfuncs++].id = b->first_id + b->nr;
		}
		p += sizeof(*t) + extra;
	}
	qsort(b->funcs, b->nfuncs, sizeof(*b->funcs), named_cmp);
	return 0;
}

/* The id of the first BTF_KIND_FUNC named `name` in b (not its base), 0 if none. */
static __u32 btf_find_func(const struct btf *b, const char *name)
{
	long lo = 0, hi = (long)b->nfuncs - 1, found = -1;
	while (lo <= hi) {
		long mid = (lo + hi) / 2;
		int c = strcmp(b->funcs[mid].name, name);
		if (c < 0)
			lo = mid + 1;
		else {
			if (!c)
				found = mid;
			hi = mid - 1;
		}
	}
	return found < 0 ? 0 : b->funcs[found].id;
}

/* An fd of the kernel BTF object named `module` (BPF_BTF_GET_NEXT_ID walk), -1 if none. */
static int btf_obj_fd(const char *module)
{
	__u32 id = 0;
	for (;;) {
		union bpf_attr a;
		struct bpf_btf_info info;
		char name[64] = "";
		int fd;
		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (sys_bpf(BPF_BTF_GET_NEXT_ID, &a))
			return -1;
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		a.btf_id = id;
		fd = sys_bpf(BPF_BTF_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		info.name = (__u64)(uintptr_t)name;
		info.name_len = sizeof(name);
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = fd;
		a.info.info_len = sizeof(info);
		a.info.info = (__u64)(uintptr_t)&info;
		if (!sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) && info.kernel_btf && !strcmp(name, module))
			return fd;
		close(fd);
	}
}

/* ---- fentry ----------------------------------------------------------------------------- */

/* BTF ids and module BTF fds, resolved before the clock starts: finding a function's type is
 * user-space work (ipft does it during discovery), not part of the kernel's attach cost. */
static __u32 *fentry_ids;
static int *fentry_objs;

static int func_cmp(const void *a, const void *b)
{
	const struct func *x = a, *y = b;
	int c = strcmp(x->module ? x->module : "", y->module ? y->module : "");
	return c ? c : strcmp(x->name, y->name);
}

static void resolve_fentry(void)
{
	struct btf vmlinux, mod;
	const char *cur_mod = NULL; /* the module whose BTF is in `mod` */
	int mod_fd = -1, i;
	if (btf_open(&vmlinux, "/sys/kernel/btf/vmlinux", NULL))
		die("%s", "cannot parse /sys/kernel/btf/vmlinux (kernel without CONFIG_DEBUG_INFO_BTF?)");
	memset(&mod, 0, sizeof(mod));
	fentry_ids = calloc(nfuncs, sizeof(*fentry_ids));
	fentry_objs = calloc(nfuncs, sizeof(*fentry_objs));
	/* Grouped by module, so that each module's BTF is read once; the order of attach does
	 * not matter (every function gets its own program and link). */
	qsort(funcs, nfuncs, sizeof(*funcs), func_cmp);
	for (i = 0; i < nfuncs; i++) {
		struct func *fn = &funcs[i];
		if (fn->module && (!cur_mod || strcmp(cur_mod, fn->module))) {
			char path[300];
			btf_close(&mod);
			snprintf(path, sizeof(path), "/sys/kernel/btf/%s", fn->module);
			if (btf_open(&mod, path, &vmlinux))
				btf_close(&mod);
			mod_fd = btf_obj_fd(fn->module);
			if (mod_fd >= 0)
				keep(mod_fd); /* closed with the rest, after the links */
			cur_mod = fn->module;
		}
		fentry_ids[i] = fn->module ? (mod.data && mod_fd >= 0 ? btf_find_func(&mod, fn->name) : 0)
					   : btf_find_func(&vmlinux, fn->name);
		fentry_objs[i] = fn->module ? mod_fd : 0;
	}
	btf_close(&mod);
	btf_close(&vmlinux);
}

static void attach_fentry(void)
{
	int i;
	for (i = 0; i < nfuncs; i++) {
		struct func *fn = &funcs[i];
		union bpf_attr a;
		int prog, lfd;
		if (!fentry_ids[i]) {
			failure(fn->name, "no BTF id", ENOENT);
			continue;
		}
		prog = prog_load(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, fentry_ids[i], fentry_objs[i]);
		if (prog < 0) {
			failure(fn->name, "fentry load", errno);
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.link_create.prog_fd = prog;
		a.link_create.attach_type = BPF_TRACE_FENTRY;
		lfd = sys_bpf(BPF_LINK_CREATE, &a);
		if (lfd < 0) {
			failure(fn->name, "fentry link", errno);
			close(prog);
			continue;
		}
		keep(lfd);
		keep(prog);
		links++;
		fn->ok = 1;
	}
}

/* ---- timing helpers for ipft (the guest's busybox has no sub-second clock) -------------- */

/* Whether a process with "--detach-helper" in its command line runs (ipft's detach helper). */
static int helper_running(void)
{
	char path[300], cmd[256];
	struct dirent *d;
	int found = 0;
	DIR *proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!found && (d = readdir(proc))) {
		int fd;
		ssize_t n;
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", d->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		if (n > 0) {
			cmd[n] = 0;
			found = strstr(cmd, "--detach-helper") != NULL;
		}
	}
	closedir(proc);
	return found;
}

static int session(int argc, char **argv)
{
	int p[2], out, rc, status, ready = 0;
	char buf[4096], tail[64] = "";
	double t0, t_ready = 0, t_int = 0, t_exit, t_gone;
	pid_t pid;
	ssize_t n;
	if (argc < 4)
		die("%s", "usage: minload session ERRFILE CMD ARGS...");
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || pipe(p))
		die("cannot open %s", argv[2]);
	t0 = now();
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(p[1], 2);
		close(p[0]);
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf) - 1)) > 0 || (n < 0 && errno == EINTR)) {
		char joined[sizeof(tail) + sizeof(buf)];
		if (n <= 0)
			continue;
		buf[n] = 0;
		if (write(out, buf, n) != n)
			die("cannot write %s", argv[2]);
		/* The marker may straddle two reads: search the previous tail too. */
		snprintf(joined, sizeof(joined), "%s%s", tail, buf);
		if (!ready && strstr(joined, "Trace ready!")) {
			ready = 1;
			t_ready = now();
			kill(pid, SIGINT);
			t_int = now();
		}
		n = strlen(joined);
		snprintf(tail, sizeof(tail), "%s", joined + (n > 20 ? n - 20 : 0));
	}
	waitpid(pid, &status, 0);
	t_exit = now();
	while (helper_running())
		usleep(5000);
	t_gone = now();
	close(out);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (!ready) {
		printf("ready_s=- exit_s=- gone_s=- rc=%d\n", rc);
		return 1;
	}
	printf("ready_s=%.3f exit_s=%.3f gone_s=%.3f rc=%d\n", t_ready - t0, t_exit - t_int,
	       t_gone - t_int, rc);
	return 0;
}

static int timed(int argc, char **argv)
{
	int status, rc;
	double t0;
	pid_t pid;
	if (argc < 4)
		die("%s", "usage: minload time OUTFILE CMD ARGS...");
	t0 = now();
	pid = fork();
	if (pid == 0) {
		int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0)
			_exit(126);
		dup2(out, 1);
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("elapsed_s=%.3f rc=%d\n", now() - t0, rc);
	return rc != 0;
}

static volatile sig_atomic_t hold_stop;
static void on_hold_signal(int sig)
{
	(void)sig;
	hold_stop = 1;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 1 << 16, 1 << 16 };
	double t0, t1, t2;
	int i;
	if (argc >= 2 && !strcmp(argv[1], "session"))
		return session(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "time"))
		return timed(argc, argv);
	if (argc != 3) {
		fprintf(stderr, "usage: minload kprobe-multi|kprobe|fentry FUNCLIST\n"
				"       minload session ERRFILE CMD ARGS...\n"
				"       minload time OUTFILE CMD ARGS...\n");
		return 2;
	}
	/* Two fds per function (link + perf event or program): more than the usual 1024. */
	if (setrlimit(RLIMIT_NOFILE, &rl) && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	read_list(argv[2]);
	if (!strcmp(argv[1], "fentry"))
		resolve_fentry();

	t0 = now();
	if (!strcmp(argv[1], "kprobe-multi"))
		attach_kprobe_multi();
	else if (!strcmp(argv[1], "kprobe"))
		attach_kprobe();
	else if (!strcmp(argv[1], "fentry"))
		attach_fentry();
	else
		die("unknown backend %s (kprobe-multi, kprobe or fentry)", argv[1]);
	t1 = now();
	if (getenv("MINLOAD_HOLD")) {
		/* Stay attached until SIGINT (bench/guest measures packet rates meanwhile). */
		struct sigaction sa = { .sa_handler = on_hold_signal };
		sigaction(SIGINT, &sa, NULL);
		fprintf(stderr, "minload: holding %d links until SIGINT\n", links);
		while (!hold_stop)
			pause();
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	t2 = now();

	int attached = 0;
	for (i = 0; i < nfuncs; i++)
		attached += funcs[i].ok;
	printf("minload backend=%s listed=%d attached=%d failed=%d links=%d attach_s=%.3f detach_s=%.3f%s\n",
	       argv[1], nfuncs, attached, nfuncs - attached, links, t1 - t0, t2 - t1,
	       strcmp(argv[1], "kprobe-multi") ? "" : by_addr ? " by=addrs" : " by=syms");
	return attached ? 0 : 1;
}
