/* log.c - to be written */
typedef int chatd_log_empty;
