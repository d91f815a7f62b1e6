#!/usr/bin/env bash
# The demo behind `make run`: tigrisd with two workers on the feeds bundled in
# deploy/demo/feeds, and `tigris tail` printing the tagged alerts. Ctrl-C stops
# both. Each run starts from an empty state directory so that every item shows.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
config=deploy/demo.json
state=build/demo-state

rm -rf "$state"
"$build/tigris" check "$config" || exit 1

"$build/tigris" tail --connect tcp://127.0.0.1:7700 &
tail_pid=$!
"$build/tigrisd" --config "$config" --log-level notice &
daemon_pid=$!

stop() {
	kill -TERM "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	kill -TERM "$tail_pid" 2>/dev/null
	wait "$tail_pid" 2>/dev/null
	echo
	echo "demo stopped"
	exit 0
}
trap stop INT TERM
echo "tigris demo: alerts below; Ctrl-C to stop" >&2
wait "$daemon_pid"
status=$?
kill -TERM "$tail_pid" 2>/dev/null
exit $status
