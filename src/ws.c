/* ws.c - to be written */
typedef int chatd_ws_empty;
