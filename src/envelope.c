/* envelope.c - to be written */
typedef int chatd_envelope_empty;
