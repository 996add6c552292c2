#ifndef CHATD_MASTER_H
#define CHATD_MASTER_H
#endif
