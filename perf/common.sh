# Helpers shared by perf/compare.sh and perf/shards.sh (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks_per_s=$(getconf CLK_TCK)
# User and system CPU ticks of a process, from /proc.
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
# The MB/s and the byte count of a sluice-perf summary line.
mbps() { local v; v=$(sed -nE 's/.* ([0-9.]+) MB\/s.*/\1/p' <<<"$1"); echo "${v:-n/a}"; }
bytes_of() { sed -nE 's/.* messages, ([0-9]+) bytes.*/\1/p' <<<"$1"; }
# CPU seconds per GB: ticks, bytes.
per_gb() { awk -v t="$1" -v hz="$ticks_per_s" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", t / hz / (b / 1e9); else printf "-" }'; }
