/* master.c - to be written */
typedef int chatd_master_empty;
