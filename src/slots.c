/* SPDX-License-Identifier: MIT */
/*
 * slots.c - the master's table of worker slots and their generations
 * (see slots.h).  Never logs; the master does.
 */
#include <signal.h>
#include <unistd.h>

#include "slots.h"

/* Master only.  See slots.h. */
int slots_wanted(const struct conf *c)
{
	long n = c->workers;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > CHATD_MAX_WORKERS)
		n = CHATD_MAX_WORKERS;
	return (int)n;
}

int slots_live(const struct slot *t, int current_only)
{
	int n = 0;

	for (int i = 0; i < CHATD_SLOTS; i++)
		if (t[i].pid > 0 && (!current_only || !t[i].draining))
			n++;
	return n;
}

int slots_free(const struct slot *t)
{
	for (int i = 0; i < CHATD_SLOTS; i++)
		if (t[i].pid == 0)
			return i;
	return -1;
}

int slots_nfree(const struct slot *t)
{
	int n = 0;

	for (int i = 0; i < CHATD_SLOTS; i++)
		n += t[i].pid == 0;
	return n;
}

int slots_find(const struct slot *t, pid_t pid)
{
	for (int i = 0; i < CHATD_SLOTS; i++)
		if (t[i].pid == pid)
			return i;
	return -1;
}

void slots_held(const struct slot *t, int held[CHATD_MAX_WORKERS])
{
	for (int s = 0; s < CHATD_SLOTS; s++)
		if (t[s].pid > 0 && !t[s].draining)
			held[t[s].lidx] = 1;
}

void slots_signal(const struct slot *t, int sig, int draining_too)
{
	for (int i = 0; i < CHATD_SLOTS; i++)
		if (t[i].pid > 0 && (draining_too || !t[i].draining))
			kill(t[i].pid, sig);
}

int slots_retire(struct slot *t, int old[CHATD_SLOTS])
{
	int nold = 0;

	for (int i = 0; i < CHATD_SLOTS; i++)
		if (t[i].pid > 0 && !t[i].draining) {
			t[i].draining = 1;
			old[nold++] = i;
		}
	return nold;
}

void slots_unretire(struct slot *t, const int *old, int n)
{
	for (int k = 0; k < n; k++)
		t[old[k]].draining = 0;
}

int slots_keep_old(struct slot *t)
{
	int nold = 0;

	for (int i = 0; i < CHATD_SLOTS; i++)
		if (t[i].pid > 0 && t[i].draining && !t[i].drain_sent) {
			t[i].draining = 0;
			nold++;
		}
	return nold;
}

void slots_drain_old(struct slot *t, struct shm_hdr *shm)
{
	for (int i = 0; i < CHATD_SLOTS; i++) {
		struct slot *s = &t[i];

		if (s->pid > 0 && s->draining && !s->drain_sent) {
			s->drain_sent = 1;
			stats_set(&shm->worker[i].state, SLOT_DRAINING);
			kill(s->pid, SIGUSR2);
		}
	}
}

int slots_serving(const struct slot *t, struct shm_hdr *shm)
{
	int n = 0;

	for (int i = 0; i < CHATD_SLOTS; i++)
		if (t[i].pid > 0 && !t[i].draining && stats_get(&shm->worker[i].started_ms) != 0)
			n++;
	return n;
}

void slots_load(const struct slot *t, struct shm_hdr *shm, unsigned long long *conns,
		unsigned long long *rooms)
{
	for (int i = 0; i < CHATD_SLOTS; i++)
		if (t[i].pid > 0) {
			*conns += stats_get(&shm->worker[i].connections);
			*rooms += stats_get(&shm->worker[i].rooms);
		}
}
