/* stats.c - to be written */
typedef int chatd_stats_empty;
