/* wsc.c - to be written */
typedef int chatd_wsc_empty;
