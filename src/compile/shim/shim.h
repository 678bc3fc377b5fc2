/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * C ABI over clang's CompilerInstance: compile one C file to a BPF object
 * in memory, with headers served from memory. Mirrored by src/compile/ffi.rs.
 */
#ifndef IPFT_SHIM_H
#define IPFT_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A header served from memory at an absolute virtual path. */
struct ipft_vfile {
	const char *path;
	const unsigned char *data;
	size_t len;
};

/*
 * Runs clang's cc1 with `args` (without the leading "-cc1"), the in-memory
 * files overlaid on the real file system. Of the real file system only
 * regular files below one of the `roots` (absolute directories, symlinks
 * resolved) can be read; everything else fails with a message that says so.
 * On return *obj (malloc'ed, may be NULL) holds the object and *diag
 * (malloc'ed, NUL-terminated, may be NULL) clang's diagnostics. Returns 0 on
 * success.
 */
int ipft_bpfcc_compile(const char *const *args, size_t nargs, const struct ipft_vfile *files,
		       size_t nfiles, const char *const *roots, size_t nroots,
		       unsigned char **obj, size_t *obj_len, char **diag);

void ipft_bpfcc_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif
