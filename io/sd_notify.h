/* systemd's service notification protocol (sd_notify(3)), without
 * libsystemd: one datagram of "KEY=value" lines to the unix socket that
 * $NOTIFY_SOCKET names (a leading '@' means the abstract namespace), so a
 * `Type=notify` unit knows when the broker serves and when it stops. */
#ifndef SLUICE_IO_SD_NOTIFY_H
#define SLUICE_IO_SD_NOTIFY_H

enum { SD_NOTIFY_NOT_SUPERVISED = 1 };

/* Sends `state` (e.g. "READY=1"). Returns 0, SD_NOTIFY_NOT_SUPERVISED when
 * $NOTIFY_SOCKET is unset (not started by systemd), or -errno. */
int sd_notify_send(const char *state);

#endif
