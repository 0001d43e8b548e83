#!/bin/sh
# System calls per request of a SIP server under SIPp OPTIONS, counted with
# strace -f -c: the tick-free view of what separates acli from Kamailio in a
# User-Mode Linux guest, where every system call (clock reads included) is
# a round trip through the host. Run it in the benchmark's guest, from the
# repository root, with an acli built for it:
#
#   CGO_ENABLED=0 go build -o /tmp/acli ./cmd/acli
#   go run ./cmd/acli-bench guest-sh 'testdata/bench/syscalls.sh /tmp/acli s1 5000 500'
#
# Arguments: ACLI MODE CALLS RATE [SERVERS]; MODE is a SIPp transport (s1,
# sn, u1), SERVERS "acli kamailio" by default. ACLI_SCRIPT and KAMAILIO_CFG
# replace the configurations beside this script. strace slows every system
# call, so the counts are exact but the rate and the batching they show are
# not those of an untraced run.
set -e
acli=$1 mode=$2 calls=$3 rate=$4
servers=${5:-acli kamailio}
td=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
script=${ACLI_SCRIPT:-$td/acli.acli}
kamcfg=${KAMAILIO_CFG:-$td/kamailio.cfg}
"$acli" --db "$dir/acli.db" <"$script" >/dev/null
"$acli" --db "$dir/acli.db" save-config >/dev/null
"$acli" --db "$dir/acli.db" activate-config >/dev/null
for server in $servers; do
	case $server in
	acli) set -- "$acli" --db "$dir/acli.db" serve --control "$dir/acli.sock" --log-level warn ;;
	kamailio) set -- kamailio -f "$kamcfg" -L /usr/lib/x86_64-linux-gnu/kamailio/modules -DD -E ;;
	*) echo "unknown server $server" >&2; exit 2 ;;
	esac
	strace -f -c -o "$dir/$server.strace" "$@" >"$dir/$server.log" 2>&1 &
	tracer=$!
	sleep 3
	sipp -sf "$td/options.xml" -nostdin -t "$mode" -i 127.0.0.3 -p 6000 127.0.0.1:5060 \
		-m "$calls" -r "$rate" -max_socket 60000 -timeout 60s -timeout_error >"$dir/sipp.log" 2>&1 || true
	ok=$(awk '/Successful call/ {v=$NF} END {print v+0}' "$dir/sipp.log")
	failed=$(awk '/Failed call/ {v=$NF} END {print v+0}' "$dir/sipp.log")
	pkill -TERM -f "$dir/acli.db serve" 2>/dev/null || true
	pkill -TERM -x kamailio 2>/dev/null || true
	wait $tracer || true
	echo "== $server, SIPp -t $mode, $calls calls at $rate/s: $ok ok, $failed failed; system calls per request:"
	awk -v n="$calls" '
		/^-/ || /^%/ { next }
		/total/ { printf "   %-16s %6.2f\n", "TOTAL", $4 / n; next }
		NF >= 5 && $1 ~ /^[0-9.]+$/ && $4 / n >= 0.01 { printf "   %-16s %6.2f\n", $NF, $4 / n }
	' "$dir/$server.strace"
done
rm -rf "$dir"
