#ifndef CHATD_WORKER_H
#define CHATD_WORKER_H
#endif
