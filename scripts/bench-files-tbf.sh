#!/usr/bin/env bash
# bench-files-tbf.sh: a file get between two f2f daemon processes over a
# rate-capped link (issue 19): two network namespaces joined by a veth
# pair whose both ends are shaped with tc tbf, one daemon in each; each run
# adds a fresh random file on one and times `f2f file get -o` on the other.
# Prints the payload rate of each run as a share of the cap, and the
# median. Needs root, iproute2 and tc; nothing leaves the namespaces.
#
#   scripts/bench-files-tbf.sh [RATE_MBIT] [SIZE_MIB] [RUNS]
#
# F2F names the binary (default bin/f2f). The cap counts every byte on
# the wire (IP, TCP or UDP, QUIC, Noise and yamux framing), the rate shown
# only the file's bytes.
set -euo pipefail

rate=${1:-100}
size=${2:-100}
runs=${3:-10}
f2f=${F2F:-bin/f2f}
[ "$(id -u)" = 0 ] || { echo "bench-files-tbf: needs root (network namespaces)" >&2; exit 1; }
command -v "$f2f" >/dev/null || { echo "bench-files-tbf: no f2f binary at $f2f (make build)" >&2; exit 1; }
f2f=$(realpath "$f2f")

tag="f2ftbf$$"
na="${tag}a" nb="${tag}b"
work=$(mktemp -d "${TMPDIR:-/tmp}/f2f-bench-tbf-XXXXXX")
cleanup() {
	for ns in "$na" "$nb"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	sleep 0.5
	for ns in "$na" "$nb"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# The link: 10.77.0.1 (a) <-> 10.77.0.2 (b), each end's egress shaped. The
# bucket holds at least a kernel tick's worth at the rate (HZ 250..1000).
burst=$((rate * 1000 / 100))kbit
ip netns add "$na"
ip netns add "$nb"
ip link add "${tag}x" netns "$na" type veth peer name "${tag}y" netns "$nb"
ip -n "$na" addr add 10.77.0.1/24 dev "${tag}x"
ip -n "$nb" addr add 10.77.0.2/24 dev "${tag}y"
for ns in "$na" "$nb"; do ip -n "$ns" link set lo up; done
ip -n "$na" link set "${tag}x" up
ip -n "$nb" link set "${tag}y" up
ip netns exec "$na" tc qdisc add dev "${tag}x" root tbf rate "${rate}mbit" burst "$burst" latency 200ms
ip netns exec "$nb" tc qdisc add dev "${tag}y" root tbf rate "${rate}mbit" burst "$burst" latency 200ms

in_a() { ip netns exec "$na" "$f2f" --repo "$work/a" "$@"; }
in_b() { ip netns exec "$nb" "$f2f" --repo "$work/b" "$@"; }
in_a init --profile local >/dev/null
in_b init --profile local >/dev/null
in_a daemon --listen /ip4/10.77.0.1/tcp/4180 --listen /ip4/10.77.0.1/udp/4180/quic-v1 >"$work/a.log" 2>&1 &
in_a wait >/dev/null 2>&1
in_b daemon --listen /ip4/10.77.0.2/tcp/4180 --listen /ip4/10.77.0.2/udp/4180/quic-v1 \
	--bootstrap "$(in_a id 2>/dev/null | grep /tcp/ | head -1)" >"$work/b.log" 2>&1 &
in_b wait >/dev/null 2>&1

printf '%s cores; %d MiB per get over a %d Mbit/s tbf link, %d runs\n' "$(nproc)" "$size" "$rate" "$runs"
printf 'run  seconds  Mbit/s  of cap\n'
shares=()
for run in $(seq "$runs"); do
	head -c $((size << 20)) /dev/urandom >"$work/file"
	c=$(in_a file add "$work/file" | tail -1)
	t0=$(date +%s%N)
	timeout 900 ip netns exec "$nb" "$f2f" --repo "$work/b" file get "$c" -o "$work/out" >/dev/null 2>"$work/err" ||
		{ echo "bench-files-tbf: file get failed:" >&2; cat "$work/err" >&2; exit 1; }
	t1=$(date +%s%N)
	cmp -s "$work/file" "$work/out" || { echo "bench-files-tbf: the copy differs" >&2; exit 1; }
	rm -f "$work/out"
	read -r secs mbit share < <(awk -v b=$((size << 20)) -v ns=$((t1 - t0)) -v cap="$rate" \
		'BEGIN{s = ns / 1e9; m = b * 8 / 1e6 / s; printf "%.2f %.1f %.3f\n", s, m, m / cap}')
	shares+=("$share")
	printf '%-4s %-8s %-7s %.1f %%\n' "$run" "$secs" "$mbit" "$(awk -v x="$share" 'BEGIN{print x * 100}')"
done
sorted=$(printf '%s\n' "${shares[@]}" | sort -n)
printf 'median %.1f %% of %d Mbit/s (%.1f..%.1f %%)\n' \
	"$(echo "$sorted" | awk '{a[NR]=$1} END{print 100 * (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')" "$rate" \
	"$(echo "$sorted" | head -1 | awk '{print 100 * $1}')" "$(echo "$sorted" | tail -1 | awk '{print 100 * $1}')"
