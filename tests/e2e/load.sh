#!/usr/bin/env bash
# tests/e2e/load.sh URL SECRET PREFIX COUNT CONCURRENCY OUT
# Post COUNT distinct signed meeting events (uuid PREFIX-i) to URL with
# CONCURRENCY parallel clients; append "uuid http_status" per request to
# OUT.  Used by the fault tests to know which events were acknowledged.
set -u
url=$1 secret=$2 prefix=$3 count=$4 conc=$5 out=$6

one() {
    local i=$1 uuid body ts sig code
    uuid=$prefix-$i
    body=$(printf '{"event":"meeting.participant_joined","event_ts":%s,"payload":{"object":{"id":"%s","uuid":"%s","participant":{"user_id":"u-%s","user_name":"Load Tester"}}}}' \
        "$((1700000000000 + i))" "$((900000 + i % 97))" "$uuid" "$i")
    ts=$(date +%s)
    sig=v0=$(printf 'v0:%s:%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' -H "x-zm-request-timestamp: $ts" \
        -H "x-zm-signature: $sig" -H "x-zm-request-id: $uuid" \
        --data-binary "$body" "$url")
    printf '%s %s\n' "$uuid" "$code" >>"$out"
}
export -f one
export url secret prefix out
seq 1 "$count" | xargs -P "$conc" -I{} bash -c 'one {}'
