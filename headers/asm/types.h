/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* asm/types.h for the bpf target, as ipft serves it to extensions. */
#include <asm-generic/types.h>
