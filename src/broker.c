/* broker.c - to be written */
typedef int chatd_broker_empty;
