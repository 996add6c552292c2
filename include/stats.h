#ifndef CHATD_STATS_H
#define CHATD_STATS_H
#endif
