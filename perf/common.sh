# Helpers shared by the perf/*.sh scripts (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks_per_s=$(getconf CLK_TCK)
# User and system CPU ticks of a process, from /proc.
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }
# a / b to two places; "-" when either is not a number (a figure that failed: "n/a").
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { num = "^[0-9]+([.][0-9]*)?$"
    if (a ~ num && b ~ num && b > 0) printf "%.2f", a / b; else printf "-" }'
}
# The MB/s and the byte count of a sluice-perf summary line.
mbps() { local v; v=$(sed -nE 's/.* ([0-9.]+) MB\/s.*/\1/p' <<<"$1"); echo "${v:-n/a}"; }
bytes_of() { sed -nE 's/.* messages, ([0-9]+) bytes.*/\1/p' <<<"$1"; }
# CPU seconds per GB: ticks, bytes.
per_gb() { awk -v t="$1" -v hz="$ticks_per_s" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", t / hz / (b / 1e9); else printf "-" }'; }
# The median of numbers, one a line on stdin ("n/a" for none).
median() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Deletes topic $2 on the broker at $1 (Debian's confluent-kafka), so that
# page-cache writeback of one run's data does not fall on the next.
delete_topic() {
  /usr/bin/python3 -c 'import sys
from confluent_kafka.admin import AdminClient
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
admin.delete_topics([sys.argv[2]])[sys.argv[2]].result(30)' "$1" "$2"
}
