/* mloop.c - to be written */
typedef int chatd_mloop_empty;
