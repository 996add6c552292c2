/* http.c - to be written */
typedef int chatd_http_empty;
