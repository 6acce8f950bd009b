/* The process's figures in the Prometheus text, as Prometheus's client
 * libraries name them (process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds), read from getrusage and /proc/self; and
 * sluice_build_info. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/net/metrics.h"
#include "core/net/metrics_out.h"

const char *metrics_version(void)
{
	return SLUICE_VERSION;
}

/* Descriptors open now; -1 when they cannot be counted. Linux 6.2+ gives
 * the count as the size of /proc/self/fd, which costs nothing; listing the
 * directory (older kernels) took a fifth of a scrape's time with 10,000
 * partitions' files open. */
static long metrics_open_fds(void)
{
	struct stat st;
	if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
		return (long)st.st_size;
	/* The entries, less the one that reads them. */
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

/* Virtual and resident bytes from /proc/self/statm. */
static bool metrics_memory(unsigned long long *virt, unsigned long long *rss)
{
	FILE *f = fopen("/proc/self/statm", "re");
	if (!f)
		return false;
	unsigned long long pages_virt, pages_rss;
	bool ok = fscanf(f, "%llu %llu", &pages_virt, &pages_rss) == 2;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	*virt = pages_virt * (unsigned long long)page;
	*rss = pages_rss * (unsigned long long)page;
	return ok;
}

/* The boot time (btime of /proc/stat), seconds since the epoch; 0: unknown. */
static unsigned long long metrics_boot_seconds(void)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	char line[256];
	unsigned long long btime = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	return btime;
}

double metrics_process_start_seconds(void)
{
	FILE *f = fopen("/proc/self/stat", "re");
	if (!f)
		return 0;
	char buf[1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Field 22 (starttime, clock ticks after boot) counts from the ')' that
	 * ends field 2 (the command, which may hold spaces). */
	char *p = strrchr(buf, ')');
	unsigned long long ticks;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu", &ticks) != 1)
		return 0;
	unsigned long long boot = metrics_boot_seconds();
	long hz = sysconf(_SC_CLK_TCK);
	return boot && hz > 0 ? (double)boot + (double)ticks / (double)hz : 0;
}

void metrics_process_render(struct metrics_out *o)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		     ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
	metrics_printf(o, "# HELP process_cpu_seconds_total User and system CPU time of the process.\n"
			  "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.6f\n",
		       cpu);
	unsigned long long virt, rss;
	if (metrics_memory(&virt, &rss))
		metrics_printf(o, "# HELP process_resident_memory_bytes Resident memory.\n"
				  "# TYPE process_resident_memory_bytes gauge\n"
				  "process_resident_memory_bytes %llu\n"
				  "# HELP process_virtual_memory_bytes Virtual memory.\n"
				  "# TYPE process_virtual_memory_bytes gauge\n"
				  "process_virtual_memory_bytes %llu\n", rss, virt);
	long fds = metrics_open_fds();
	if (fds >= 0)
		metrics_printf(o, "# HELP process_open_fds Open file descriptors.\n"
				  "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n", fds);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		metrics_printf(o, "# HELP process_max_fds The descriptor limit (RLIMIT_NOFILE).\n"
				  "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
			       (unsigned long long)rl.rlim_cur);
	double start = metrics_process_start_seconds();
	if (start > 0)
		metrics_printf(o, "# HELP process_start_time_seconds When the process started, in "
				  "seconds since the epoch.\n# TYPE process_start_time_seconds gauge\n"
				  "process_start_time_seconds %.2f\n", start);
	metrics_printf(o, "# HELP sluice_build_info The broker's version.\n"
			  "# TYPE sluice_build_info gauge\nsluice_build_info{version=\"");
	metrics_put_label(o, metrics_version(), strlen(metrics_version()));
	metrics_printf(o, "\"} 1\n");
}
