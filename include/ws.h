#ifndef CHATD_WS_H
#define CHATD_WS_H
#endif
