// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A version whose "conn_table" has another definition: it must stay private. */
#define CONN_TABLE_ENTRIES 8
#include "stateful.bpf.c"
