#!/usr/bin/env bash
# bench-files-kubo.sh: a file get between two f2f daemon processes next to
# the same get between two Kubo daemon processes, in the same run, on
# loopback (issue 19). Each run adds a fresh random file (the same bytes
# to both) on the first daemon of each pair and times `f2f file get -o`
# and `ipfs get -o` on the second (both fetch every block, verify it,
# store it and write the file out), in turns which goes first, each after
# a `sync`. Prints one line per run and the
# medians; nothing leaves the machine (run it in `unshare -n` with
# `ip link set lo up` to be sure).
#
#   scripts/bench-files-kubo.sh [SIZE_MIB] [RUNS]
#
# F2F (default bin/f2f) and IPFS (default ipfs on PATH) name the binaries.
# Kubo 0.38.2 builds from the module proxy with one replace (its pinned
# cockroachdb/swiss does not build with this Go):
#
#   go mod download -json github.com/ipfs/kubo@v0.38.2   # copy its Dir, then in the copy:
#   go mod edit -replace github.com/cockroachdb/swiss=github.com/cockroachdb/swiss@v0.0.0-20260820225851-333444432258
#   go mod tidy && go build -o ipfs ./cmd/ipfs
#
# Kubo runs with `ipfs init --profile test` (loopback TCP, no bootstrap,
# no MDNS; its flatfs blockstore without fsync, Kubo's fastest), routing
# and AutoConf off (the two daemons are connected directly; bitswap asks
# connected peers). Not QUIC: Kubo 0.38.2's quic-go (v0.55) panics in its
# TLS handshake when built with Go 1.26 ("crypto/tls bug: where's my
# session ticket?"). f2f's daemons use their local profile (TCP and QUIC;
# libp2p prefers QUIC).
set -euo pipefail

size=${1:-100}
runs=${2:-10}
f2f=${F2F:-bin/f2f}
ipfs=${IPFS:-ipfs}
command -v "$f2f" >/dev/null || { echo "bench-files-kubo: no f2f binary at $f2f (make build)" >&2; exit 1; }
command -v "$ipfs" >/dev/null || { echo "bench-files-kubo: no ipfs binary (set IPFS=, see the header for how to build Kubo 0.38.2)" >&2; exit 1; }
f2f=$(realpath "$f2f")
ipfs=$(command -v "$ipfs")

work=$(mktemp -d "${TMPDIR:-/tmp}/f2f-bench-kubo-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s%N; }

# f2f: two daemons, local profile (loopback), b bootstrapped to a.
for r in a b; do "$f2f" --repo "$work/$r" init --profile local >/dev/null; done
"$f2f" --repo "$work/a" daemon >"$work/a.log" 2>&1 &
pids+=($!)
"$f2f" --repo "$work/a" wait >/dev/null
"$f2f" --repo "$work/b" daemon --bootstrap "$("$f2f" --repo "$work/a" id | grep /tcp/ | head -1)" >"$work/b.log" 2>&1 &
pids+=($!)
"$f2f" --repo "$work/b" wait >/dev/null

# Kubo: two daemons, test profile, b connected to a.
for r in ka kb; do
	export IPFS_PATH="$work/$r"
	"$ipfs" init --profile test >/dev/null
	"$ipfs" config Routing.Type none
	"$ipfs" config --json AutoConf.Enabled false
	"$ipfs" daemon >"$work/$r.log" 2>&1 &
	pids+=($!)
done
for r in ka kb; do
	for _ in $(seq 300); do grep -q "Daemon is ready" "$work/$r.log" && break; sleep 0.1; done
	grep -q "Daemon is ready" "$work/$r.log" || { echo "bench-files-kubo: Kubo daemon $r did not start:" >&2; tail -5 "$work/$r.log" >&2; exit 1; }
done
kaddr=$(IPFS_PATH="$work/ka" "$ipfs" id -f '<addrs>' | grep /tcp/ | head -1)
kid=$(IPFS_PATH="$work/ka" "$ipfs" id -f '<id>')
IPFS_PATH="$work/kb" "$ipfs" swarm connect "$kaddr/p2p/$kid" >/dev/null

printf '%s cores; %d MiB per get, %d runs, loopback; f2f %s, Kubo %s\n' "$(nproc)" "$size" "$runs" \
	"$("$f2f" version | head -1)" "$("$ipfs" version)"
printf 'run  f2f MB/s  Kubo MB/s  f2f/Kubo\n'
f2fs=() kubos=()
for run in $(seq "$runs"); do
	head -c $((size << 20)) /dev/urandom >"$work/file"
	c=$("$f2f" --repo "$work/a" file add "$work/file" | tail -1)
	kc=$(IPFS_PATH="$work/ka" "$ipfs" add -Q --cid-version=1 "$work/file")
	[ "$c" = "$kc" ] || { echo "bench-files-kubo: CIDs differ: f2f $c, Kubo $kc" >&2; exit 1; }
	# Dirty pages of the adds written back first (else the kernel does it
	# during a get); the two gets in turns, first one, then the other.
	get_f2f() {
		sync
		local t0
		t0=$(now)
		timeout 600 "$f2f" --repo "$work/b" file get "$c" -o "$work/f2f.out" >/dev/null 2>"$work/err" ||
			{ echo "bench-files-kubo: f2f file get failed:" >&2; cat "$work/err" >&2; exit 1; }
		ft=$(($(now) - t0))
	}
	get_kubo() {
		sync
		local t0
		t0=$(now)
		IPFS_PATH="$work/kb" timeout 600 "$ipfs" get "$kc" -o "$work/kubo.out" >/dev/null 2>"$work/err" ||
			{ echo "bench-files-kubo: ipfs get failed:" >&2; cat "$work/err" >&2; exit 1; }
		kt=$(($(now) - t0))
	}
	if ((run % 2)); then get_f2f; get_kubo; else get_kubo; get_f2f; fi
	cmp -s "$work/file" "$work/f2f.out" || { echo "bench-files-kubo: f2f's copy differs" >&2; exit 1; }
	cmp -s "$work/file" "$work/kubo.out" || { echo "bench-files-kubo: Kubo's copy differs" >&2; exit 1; }
	rm -f "$work/f2f.out" "$work/kubo.out"
	fr=$(awk -v b=$((size << 20)) -v ns="$ft" 'BEGIN{printf "%.0f", b / 1e6 / (ns / 1e9)}')
	kr=$(awk -v b=$((size << 20)) -v ns="$kt" 'BEGIN{printf "%.0f", b / 1e6 / (ns / 1e9)}')
	f2fs+=("$fr") kubos+=("$kr")
	printf '%-4s %-9s %-10s %.2f\n' "$run" "$fr" "$kr" "$(awk -v a="$fr" -v b="$kr" 'BEGIN{print a / b}')"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
fm=$(median "${f2fs[@]}") km=$(median "${kubos[@]}")
printf 'median f2f %s MB/s (%s..%s), Kubo %s MB/s (%s..%s), f2f/Kubo %.2f\n' \
	"$fm" "$(median "$(printf '%s\n' "${f2fs[@]}" | sort -n | head -1)")" "$(printf '%s\n' "${f2fs[@]}" | sort -n | tail -1)" \
	"$km" "$(printf '%s\n' "${kubos[@]}" | sort -n | head -1)" "$(printf '%s\n' "${kubos[@]}" | sort -n | tail -1)" \
	"$(awk -v a="$fm" -v b="$km" 'BEGIN{print a / b}')"
