/* SPDX-License-Identifier: MIT */
/*
 * master.c - the master process.  Forks, reaps and replaces workers, turns
 * signals into actions (SIGHUP: master_reload), and runs the loop that
 * drives the message path (relay.c).  It never touches a client socket and
 * never waits for a worker.  The listening sockets are listener.c's, the
 * start-up checks, the pid file and detaching daemon.c's, the child's side
 * of fork() spawn.c's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alog.h"
#include "chatd.h"
#include "conf.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "master.h"
#include "mloop.h"
#include "notify.h"
#include "preflight.h"
#include "relay.h"
#include "ring.h"
#include "shm.h"
#include "signals.h"
#include "slots.h"
#include "spawn.h"
#include "stats.h"
#include "title.h"
#include "tls.h"
#include "worker.h"

#define QUICK_DEATH_MS  1000   /* a worker dying younger than this is "crashing" */
#define START_FAILURES_MAX 5   /* the same start-up failure this often in a row: give up */
#define STATUS_MS       2000   /* how often the supervisor's STATUS= is refreshed */

static struct master {
	struct conf *conf;
	const struct master_opts *opts;
	struct shm_hdr *shm;
	struct mloop *loop;
	struct relay relay;    /* the message path, the broker in it */
	struct listener lsn;   /* the workers' listening sockets */
	struct tls_creds *tls; /* certificate and key of `listen ... ssl`; NULL: none */
	int sig_fd, efd;
	int ready_fd;          /* daemon: pipe to the parent waiting in daemon_detach() */
	int generation;
	int stopping;
	int quick_deaths;      /* consecutive quick deaths: throttles respawn */
	int await_ready;       /* tell the parent / supervisor once every worker serves */
	int ever_ready;        /* ... done once: start-up is over */
	int start_failures;    /* workers that died before serving, in a row ... */
	int fail_status;       /* ... with this wait status */
	int gave_up;           /* START_FAILURES_MAX reached: no more respawns */
	int exit_status;       /* of the master */
	uint64_t status_timer;
	uint64_t respawn_timer;
	uint64_t kill_timer;
	struct slot slots[CHATD_SLOTS];   /* the workers and their generations */
} m;

/* ---- workers --------------------------------------------------------------- */

/* The listening socket for a new worker of the current generation (its
 * index in m.lsn); -1 with err filled. */
static int listener_for_worker(char *err, size_t errlen)
{
	int held[CHATD_MAX_WORKERS] = { 0 };

	slots_held(m.slots, held);
	return listener_pick(&m.lsn, m.conf, slots_wanted(m.conf), held, err, errlen);
}

/* No respawn until the next reload (the master gave up): the sockets no
 * worker holds would queue connections nobody accepts. */
static void listeners_drop_orphans(void)
{
	int held[CHATD_MAX_WORKERS] = { 0 };

	slots_held(m.slots, held);
	for (int i = 0; i < slots_wanted(m.conf); i++)
		if (!held[i])
			listener_drop(&m.lsn, i);
}

static int spawn_worker(void)
{
	struct worker_args a;
	char err[CHATD_ERR_MAX] = "";
	int slot = slots_free(m.slots), lidx, efd;
	pid_t pid;

	if (slot < 0) {
		log_error("no free worker slot (%d in use)", CHATD_SLOTS);
		return -1;
	}
	lidx = listener_for_worker(err, sizeof(err));
	if (lidx < 0) {
		log_error("%s", err);
		return -1;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		log_errno(LOG_LVL_ERROR, "eventfd()");
		return -1;
	}
	/* our cursor starts before the worker exists: nothing it pushes is skipped */
	relay_uplink_open(&m.relay, slot);
	a = (struct worker_args){ m.conf, m.shm, slot, m.generation, { -1 }, m.lsn.n,
				  efd, m.efd, m.tls };
	for (int k = 0; k < m.lsn.n; k++)
		a.listen_fd[k] = m.lsn.fd[k][lidx];
	pid = spawn_fork(&a);
	if (pid < 0) {
		log_errno(LOG_LVL_ERROR, "fork()");
		close(efd);
		return -1;
	}
	m.slots[slot] = (struct slot){ .pid = pid, .generation = m.generation,
				       .started_ms = mloop_now_ms(), .lidx = lidx };
	relay_attach(&m.relay, slot, efd);
	stats_set(&m.shm->worker[slot].pid, (uint64_t)pid);
	log_info("worker %d started (pid %d, generation %d)", slot, (int)pid, m.generation);
	return slot;
}

static void respawn_timer_cb(void *arg);

/* Start workers until the current generation is complete; returns how many
 * started.  A failure (EMFILE, EAGAIN, a bind error) is retried in a second. */
static int spawn_missing(void)
{
	int want = slots_wanted(m.conf), started = 0;

	while (!m.stopping && !m.gave_up && slots_live(m.slots, 1) < want) {
		if (spawn_worker() < 0) {
			if (!m.respawn_timer)
				m.respawn_timer = mloop_timer(m.loop, 1000, respawn_timer_cb, NULL);
			break;
		}
		started++;
	}
	return started;
}

static void respawn_timer_cb(void *arg)
{
	(void)arg;
	m.respawn_timer = 0;
	spawn_missing();
}

/* ---- reaping, reloading, stopping ----------------------------------------- */

/* Without -f: let the command that started us exit 0 now that every worker
 * serves (fail == NULL), or 1 after printing fail. */
static void master_ready(const char *fail)
{
	daemon_ready(&m.ready_fd, fail);
}

static void master_stop(int sig);

/* Describe a wait status: "exit status 1", "signal 11". */
static const char *status_text(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	return buf;
}

/*
 * The current generation cannot start.  At start-up: stop, exit 1, and
 * tell the command that started us why.  During a reload: the older
 * generation goes on.  Otherwise: serve with the workers left, or exit 1
 * when none is left.  No respawn either way until the next reload.
 */
static void give_up(const char *why)
{
	int nold;

	m.gave_up = 1;
	if (!m.ever_ready) {
		log_error("%s; stopping", why);
		master_ready(why);
		m.exit_status = 1;
		master_stop(0);
		return;
	}
	nold = slots_keep_old(m.slots);
	if (nold > 0) {
		log_error("reload: %s; the %d workers of the older generation go on", why, nold);
		m.await_ready = 0;
		notify_ready(m.generation, slots_live(m.slots, 1));
	} else if (slots_live(m.slots, 0) == 0) {
		log_error("%s; no worker left: stopping", why);
		m.exit_status = 1;
		master_stop(0);
	} else {
		log_error("%s; serving with the %d workers left until the next reload", why,
			  slots_live(m.slots, 1));
	}
}

/* A worker died before it served.  The same way START_FAILURES_MAX times in
 * a row is not going to get better by itself. */
static void start_failed(int status)
{
	char st[64], why[256];

	if (m.start_failures == 0 || status != m.fail_status) {
		m.fail_status = status;
		m.start_failures = 0;
	}
	if (++m.start_failures < START_FAILURES_MAX || m.gave_up)
		return;
	snprintf(why, sizeof(why), "workers failed at start-up %d times in a row (%s; the log "
		 "says why)", m.start_failures, status_text(status, st, sizeof(st)));
	give_up(why);
}

/* Old generations that waited for the new one: drain them now. */
static void drain_old_generations(void)
{
	listener_trim(&m.lsn, slots_wanted(m.conf));
	slots_drain_old(m.slots, m.shm);
}

/* Does every worker of the current generation serve?  Then say so (the
 * parent, the supervisor) and let the older generations drain. */
static void check_ready(void)
{
	int want = slots_wanted(m.conf), n = slots_serving(m.slots, m.shm);

	if (n < want)
		return;
	m.await_ready = 0;
	m.start_failures = 0;
	drain_old_generations();
	if (!m.ever_ready)
		master_ready(NULL);
	log_info("generation %d: %d workers serving", m.generation, n);
	m.ever_ready = 1;
	notify_ready(m.generation, n);
}

static void slot_gone(int i, int status)
{
	struct slot *s = &m.slots[i];
	uint64_t age = mloop_now_ms() - s->started_ms;
	int crashed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int served = stats_get(&m.shm->worker[i].started_ms) != 0;

	relay_slot_gone(&m.relay, i, m.conf);   /* what it sent still counts; its members leave */
	if (crashed && !m.stopping && !s->draining) {
		if (WIFSIGNALED(status))
			log_warn("worker %d (pid %d) killed by signal %d; replacing it", i,
				 (int)s->pid, WTERMSIG(status));
		else
			log_warn("worker %d (pid %d) exited with status %d; replacing it", i,
				 (int)s->pid, WEXITSTATUS(status));
		stats_add(&m.shm->master.worker_restarts, 1);
		m.quick_deaths = age < QUICK_DEATH_MS ? m.quick_deaths + 1 : 0;
	} else {
		log_info("worker %d (pid %d) exited", i, (int)s->pid);
	}
	stats_retire_slot(m.shm, i);
	memset(s, 0, sizeof(*s));
	if (served)
		m.start_failures = 0;
	else if (crashed && !m.stopping)
		start_failed(status);
}

static void reap_children(void)
{
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((i = slots_find(m.slots, pid)) >= 0)
			slot_gone(i, status);
	if (m.gave_up && !m.stopping && slots_live(m.slots, 0) == 0) {
		log_error("no worker left, and none can start: stopping");
		m.exit_status = 1;
		master_stop(0);
	}
	if (m.gave_up && !m.stopping)
		listeners_drop_orphans();
	if (m.stopping || m.gave_up || m.respawn_timer)
		return;
	if (m.quick_deaths >= 3)   /* crash loop: try again in a second, not at once */
		m.respawn_timer = mloop_timer(m.loop, 1000, respawn_timer_cb, NULL);
	else
		spawn_missing();
}

/*
 * Make t, c's certificate and key as preflight_load() read them (the master
 * runs as root: a key only root may read works), the ones new workers get;
 * the old ones are wiped.
 */
static void master_tls_take(const struct conf *c, struct tls_creds *t)
{
	char warn[CHATD_ERR_MAX], serial[80];

	if (t != NULL) {
		if (tls_key_perms(c, warn, sizeof(warn)))
			log_warn("%s", warn);
		tls_serial(t, serial, sizeof(serial));
		log_info("TLS certificate %s (serial %s)", c->ssl_certificate, serial);
	}
	tls_creds_free(m.tls);
	m.tls = t;
}

static void master_reload(void)
{
	char err[CHATD_ERR_MAX];
	struct preflight_out pf;
	struct conf *nc = preflight_load(m.opts->conf_path, m.opts->ov, m.opts->nov, m.conf, &pf,
					 err, sizeof(err));

	if (nc != NULL && alog_prepare(nc->access_log, nc->user, nc->group, err,
				       sizeof(err)) < 0) {
		tls_creds_free(pf.tls);
		conf_free(nc);
		nc = NULL;
	}
	if (nc == NULL) {
		log_error("reload: %s; keeping the running configuration", err);
		notify_ready(m.generation, slots_live(m.slots, 1));
		return;
	}
	int old[CHATD_SLOTS], nold, nfree = slots_nfree(m.slots), want = slots_wanted(nc);

	if (nfree < want) {
		log_error("reload: %d worker slots free for %d new workers (older generations are "
			  "still draining); keeping the running configuration, try again later",
			  nfree, want);
		tls_creds_free(pf.tls);
		conf_free(nc);
		notify_ready(m.generation, slots_live(m.slots, 1));
		return;
	}
	if (pf.changed[0] != '\0')
		log_warn("reload: %s cannot change without a restart; keeping the old value",
			 pf.changed);
	master_tls_take(nc, pf.tls);
	conf_free(m.conf);
	m.conf = nc;
	log_set_level((enum log_level)nc->log_level);
	stats_add(&m.shm->master.reloads, 1);
	daemon_fd_budget(nc, slots_wanted(nc));
	/* new generation first, so listening capacity never drops: the old
	 * ones drain once it serves (check_ready) */
	nold = slots_retire(m.slots, old);
	m.generation++;
	m.quick_deaths = 0;
	m.gave_up = 0;
	m.start_failures = 0;
	if (spawn_missing() == 0) {
		/* no new worker: the old ones stay current rather than leave nobody */
		slots_unretire(m.slots, old, nold);
		log_error("reload: no worker of generation %d could start; the old workers go on",
			  m.generation);
		notify_ready(m.generation, slots_live(m.slots, 1));
		return;
	}
	m.await_ready = 1;
	log_notice("reloaded configuration; generation %d started", m.generation);
}

static void kill_timer_cb(void *arg)
{
	(void)arg;
	m.kill_timer = 0;
	if (slots_live(m.slots, 0) > 0) {
		log_warn("workers still running after shutdown_timeout; killing them");
		slots_signal(m.slots, SIGKILL, 1);
	}
}

static void master_stop(int sig)
{
	if (m.stopping)
		return;
	if (sig != 0)
		log_notice("%s received; stopping", strsignal(sig));
	notify_stopping();
	m.stopping = 1;
	stats_set(&m.shm->master.stopping, 1);
	slots_signal(m.slots, SIGTERM, 1);
	m.kill_timer = mloop_timer(m.loop, (uint64_t)m.conf->shutdown_timeout_ms + 1000,
				   kill_timer_cb, NULL);
}

static void sig_cb(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events; (void)arg;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM: case SIGINT: case SIGQUIT: master_stop((int)si.ssi_signo); break;
		case SIGHUP:
			if (!m.stopping) {
				notify_reloading();
				master_reload();
			}
			break;
		case SIGCHLD: reap_children(); break;
		case SIGUSR1:
			daemon_logs_reopen(m.conf);
			slots_signal(m.slots, SIGUSR1, 1);
			break;
		}
	}
}

/* ---- start-up ----------------------------------------------------------------- */

/* The master's signals (signals.c's table), read by sig_cb. */
static int setup_signals(void)
{
	m.sig_fd = signals_open(SIGNALS_MASTER);
	return m.sig_fd < 0 ? -1 : 0;
}

/* The master's eventfd (workers write it to wake the loop): just empty it. */
static void efd_cb(int fd, uint32_t events, void *arg)
{
	uint64_t v;

	(void)events; (void)arg;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_errno(LOG_LVL_WARN, "read(master eventfd)");
}

/* The start failed: the key copy is wiped all the same (exit status 1). */
static int start_abort(void)
{
	tls_creds_free(m.tls);
	m.tls = NULL;
	return 1;
}

static int start(void)
{
	master_tls_take(m.conf, m.opts->tls);
	if (daemon_start_checks(m.conf, m.opts->foreground) < 0)
		return -1;
	m.shm = shm_create(m.conf->ring_size, m.conf->uplink_size);
	if (m.shm == NULL) {
		fprintf(stderr, "chatd: shared memory (%zu bytes of rings): %s\n",
			m.conf->ring_size, strerror(errno));
		return -1;
	}
	listener_init(&m.lsn, m.conf);
	m.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	m.loop = mloop_new();
	if (relay_init(&m.relay, m.shm, m.conf->ring_size) < 0 || m.efd < 0 || m.loop == NULL ||
	    setup_signals() < 0) {
		fprintf(stderr, "chatd: start-up: %s\n", strerror(errno));
		return -1;
	}
	if (!m.opts->foreground && daemon_detach(&m.ready_fd) < 0)
		return -1;
	stats_set(&m.shm->master.pid, (uint64_t)getpid());
	stats_set(&m.shm->master.started_ms, (uint64_t)time(NULL) * 1000);
	mloop_add(m.loop, m.sig_fd, EPOLLIN, sig_cb, NULL);
	mloop_add(m.loop, m.efd, EPOLLIN, efd_cb, NULL);
	return 0;
}

/* The supervisor's STATUS= line, refreshed every STATUS_MS (sent when it
 * changed). */
static void status_timer_cb(void *arg)
{
	unsigned long long conns = 0, rooms = 0;

	(void)arg;
	slots_load(m.slots, m.shm, &conns, &rooms);
	notify_status(conns, rooms, slots_live(m.slots, 1));
	m.status_timer = m.stopping ? 0 : mloop_timer(m.loop, STATUS_MS, status_timer_cb, NULL);
}

static void master_loop(void)
{
	while (!(m.stopping && slots_live(m.slots, 0) == 0)) {
		if (m.await_ready && !m.stopping)
			check_ready();
		if (relay_drain(&m.relay) > 0) {
			mloop_run_once(m.loop, 0);   /* keep reading Redis and signals */
			relay_wake(&m.relay);
			continue;
		}
		ring_waiter_sleep(&m.shm->master_waiter);
		if (relay_pending(&m.relay)) {
			ring_waiter_awake(&m.shm->master_waiter);
			continue;
		}
		if (mloop_run_once(m.loop, -1) < 0) {
			log_errno(LOG_LVL_ERROR, "epoll_wait()");
			break;
		}
		ring_waiter_awake(&m.shm->master_waiter);
		if (m.relay.need_wake)
			relay_wake(&m.relay);
	}
}

int master_run(struct conf *conf, const struct master_opts *o)
{
	m.conf = conf;
	m.opts = o;
	m.generation = 1;
	/* log_file wins when set; else stderr in the foreground, syslog as a daemon */
	log_init(conf->log_file[0] ? conf->log_file : (o->foreground ? NULL : "syslog"),
		 (enum log_level)conf->log_level);
	daemon_log_file_give(conf);
	log_set_role("master", -1);
	if (o->conf_path != NULL)
		title_set("master process -c %s", o->conf_path);
	else
		title_set("master process");
	if (start() < 0)
		return start_abort();
	if (relay_broker_start(&m.relay, m.conf, m.loop) < 0) {
		master_ready("cannot start: Redis (see the log)");
		return start_abort();
	}
	for (int k = 0; k < conf->listen.n; k++)
		log_notice("chatd %s listening on %s:%d%s with %d workers", CHATD_VERSION,
			   conf->listen.v[k].host[0] ? conf->listen.v[k].host : "*",
			   conf->listen.v[k].port, conf->listen.v[k].ssl ? " (TLS)" : "",
			   slots_wanted(conf));
	daemon_fd_budget(conf, slots_wanted(conf));
	m.await_ready = 1;
	spawn_missing();
	if (slots_live(m.slots, 1) == 0) {
		log_error("no worker could start");
		master_ready("no worker could start (see the log)");
		return start_abort();
	}
	m.status_timer = mloop_timer(m.loop, STATUS_MS, status_timer_cb, NULL);
	master_loop();
	if (!o->foreground && m.conf->pid_file[0])
		unlink(m.conf->pid_file);
	relay_free(&m.relay);
	tls_creds_free(m.tls);
	log_notice("stopped");
	return m.exit_status;
}
