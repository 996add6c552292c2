/* SPDX-License-Identifier: MIT */
/*
 * main.c - chatd's entry point: options, configuration, `-t`, then the
 * master.  Everything else lives in libchatd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatd.h"
#include "conf.h"
#include "log.h"
#include "master.h"
#include "preflight.h"
#include "tls.h"
#include "title.h"

#define DEFAULT_CONF SYSCONFDIR "/chatd/chatd.conf"

static void usage(FILE *out)
{
	fprintf(out,
"usage: chatd [-tfvh] [-c file] [-w workers] [-l addr:port]\n"
"\n"
"  -c, --config FILE    configuration file (default " DEFAULT_CONF ";\n"
"                       built-in defaults when it does not exist)\n"
"  -t, --test           check the configuration and exit (0 valid, 1 not)\n"
"  -f, --foreground     stay in the foreground, log to stderr (without it:\n"
"                       detach; exit 0 once every worker serves, else 1)\n"
"  -w, --workers N      worker processes: a number or \"auto\" (online CPUs)\n"
"  -l, --listen A:P     address and port to listen on (e.g. 127.0.0.1:8080, or\n"
"                       \"127.0.0.1:8443 ssl\" for TLS); replaces the file's\n"
"                       listen lines of that kind (or the default); give it\n"
"                       again for more addresses (each -l is one listen line)\n"
"  -v, --version        print the version and exit\n"
"  -h, --help           print this help and exit\n"
"\n"
"Environment: REDIS_URL (redis://[:password@]host:port[/db]; empty or \"off\":\n"
"single node, no Redis), AUTH_ENABLED (true/false), CHATD_STATIC_DIR (the demo\n"
"page's directory; a relative one is taken from where chatd starts).\n"
"Precedence: command line > environment > configuration file > defaults.\n"
"Signals: TERM/INT stop gracefully, HUP reloads the configuration,\n"
"USR1 reopens the log file and access_log.  See chatd(8) and chatd.conf(5).\n");
}

/*
 * Started with stdin, stdout or stderr closed (some supervisors do that),
 * the next open() - syslog's socket, the log or pid file - would take
 * that number, and daemon_detach() puts /dev/null over it: fill 0-2 first.
 */
static void stdio_guard(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
		fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
}

/*
 * A path in the environment (CHATD_STATIC_DIR=../static, as the README's
 * first command gives it) means a path from where chatd was started; the
 * daemon runs in / and rereads the environment at every reload, so it is
 * made absolute once, here.  The configuration file's paths must be
 * absolute (chatd.conf(5)).
 */
static void env_path_absolute(const char *var)
{
	const char *v = getenv(var);
	char cwd[PATH_MAX], abs[PATH_MAX + CONF_STR_MAX];

	if (v == NULL || v[0] == '\0' || v[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return;
	snprintf(abs, sizeof(abs), "%s/%s", strcmp(cwd, "/") ? cwd : "", v);
	setenv(var, abs, 1);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "workers", required_argument, NULL, 'w' },
		{ "listen", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct conf_kv ov[1 + CONF_MAX_LISTENS];
	struct master_opts o = { NULL, ov, 0, 0, NULL };
	char err[CHATD_ERR_MAX];
	struct conf *c;
	static char abs_conf[PATH_MAX];
	const char *workers = NULL, *listen[CONF_MAX_LISTENS];
	int ch, test = 0, explicit_conf = 0, nlisten = 0;

	stdio_guard();
	title_init(argc, argv, environ);
	o.conf_path = DEFAULT_CONF;
	while ((ch = getopt_long(argc, argv, "c:tfw:l:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.conf_path = optarg; explicit_conf = 1; break;
		case 't': test = 1; break;
		case 'f': o.foreground = 1; break;
		case 'w': workers = optarg; break;   /* given twice: the last wins */
		case 'l':
			if (nlisten == CONF_MAX_LISTENS) {
				fprintf(stderr, "chatd: at most %d -l options\n", CONF_MAX_LISTENS);
				return 2;
			}
			listen[nlisten++] = optarg;
			break;
		case 'v': printf("chatd %s\n", CHATD_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (workers != NULL)
		ov[o.nov++] = (struct conf_kv){ "workers", workers };
	for (int k = 0; k < nlisten; k++)   /* each one a listen line */
		ov[o.nov++] = (struct conf_kv){ "listen", listen[k] };
	if (optind < argc) {
		fprintf(stderr, "chatd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!explicit_conf && access(o.conf_path, F_OK) != 0)
		o.conf_path = NULL;   /* no file installed: built-in defaults */
	/* a daemon runs in /: SIGHUP must find a relative -c path again */
	if (o.conf_path != NULL && o.conf_path[0] != '/' &&
	    realpath(o.conf_path, abs_conf) != NULL)
		o.conf_path = abs_conf;
	env_path_absolute("CHATD_STATIC_DIR");

	struct preflight_out pf = { .tls = NULL };

	c = preflight_load(o.conf_path, o.ov, o.nov, NULL, test ? NULL : &pf, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "chatd: %s\n", err);
		if (test)
			fprintf(stderr, "chatd: configuration file %s test failed\n",
				o.conf_path ? o.conf_path : "(defaults)");
		return 1;
	}
	if (test) {
		char warn[512];

		if (conf_has_ssl(c) && tls_key_perms(c, warn, sizeof(warn)))
			fprintf(stderr, "chatd: warning: %s\n", warn);
		printf("chatd: configuration file %s test is successful\n",
		       o.conf_path ? o.conf_path : "(defaults)");
		conf_free(c);
		return 0;
	}
	o.tls = pf.tls;
	return master_run(c, &o);
}
