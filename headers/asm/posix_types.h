/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* asm/posix_types.h for the bpf target. */
#include <asm-generic/posix_types.h>
