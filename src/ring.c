/* ring.c - to be written */
typedef int chatd_ring_empty;
