#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H
#endif
