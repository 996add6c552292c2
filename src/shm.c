/* shm.c - to be written */
typedef int chatd_shm_empty;
