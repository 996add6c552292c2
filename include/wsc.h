#ifndef CHATD_WSC_H
#define CHATD_WSC_H
#endif
