/* room.c - to be written */
typedef int chatd_room_empty;
