/* conf.c - to be written */
typedef int chatd_conf_empty;
