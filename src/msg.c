/* msg.c - to be written */
typedef int chatd_msg_empty;
