/* worker.c - to be written */
typedef int chatd_worker_empty;
